/** The complete PVF host function table of the v8 engine. */
import { CORE_FUNCTIONS, type HostFunctionTable } from './host.ts';
import { TRIE_FUNCTIONS } from './trie-functions.ts';

export const PVF_HOST_FUNCTIONS: HostFunctionTable = {
  ...CORE_FUNCTIONS,
  ...TRIE_FUNCTIONS,
};
