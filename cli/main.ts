#!/usr/bin/env node
/** pvf: execute Polkadot PVFs with versioned executor environments. */
import { Command, CommanderError } from 'commander';
import { EXIT } from '../core/candidate/verdict.ts';
import { UserError } from './errors.ts';
import { registerValidate } from './validate.ts';

import { VERSION } from './version.ts';
import { registerEngines } from './engines.ts';
import { registerSessions } from './sessions.ts';
import { registerPrecheck } from './precheck.ts';
import { registerMatrix } from './matrix.ts';
import { registerFetch } from './fetch.ts';
import { registerTrace } from './trace.ts';
import { registerDoctor } from './doctor.ts';

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.valid;
  const program = new Command()
    .name('pvf')
    .description('Execute Polkadot PVFs (parachain validation functions) with versioned executor environments')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(`pvf: ${s.replace(/^error: /, '').trim()}\n`),
    })
    .showSuggestionAfterError(true);
  const setExit = (c: number) => {
    exitCode = c;
  };
  registerValidate(program, setExit);
  registerEngines(program, setExit);
  registerSessions(program);
  registerPrecheck(program, setExit);
  registerMatrix(program, setExit);
  registerFetch(program, setExit);
  registerTrace(program, setExit);
  registerDoctor(program, setExit);
  if (argv.length <= 2) {
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT.usage;
    }
    if (e instanceof UserError) {
      process.stderr.write(`pvf: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`pvf: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.PVF_DEBUG) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
    return EXIT.software;
  }
}

// A closed stdout (e.g. `pvf … | head`) is not an error of ours.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`pvf: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = EXIT.software;
  },
);
