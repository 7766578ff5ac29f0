/**
 * The complete PVF host function table of the v8 engine: the function set of polkadot's PVF host
 * (sp_io misc, crypto, hashing, allocator, logging, trie) in the versions deployed runtimes import.
 * The RFC-145 versions (runtime-side allocation, e.g. hashing v2, trie v3, input_read) are not
 * offered yet: a PVF importing them gets a stub that traps when called.
 */
import { CORE_FUNCTIONS, type HostFunctionTable } from './host.ts';
import { TRIE_FUNCTIONS } from './trie-functions.ts';
import { CRYPTO_FUNCTIONS } from './crypto-functions.ts';

export const PVF_HOST_FUNCTIONS: HostFunctionTable = {
  ...CORE_FUNCTIONS,
  ...TRIE_FUNCTIONS,
  ...CRYPTO_FUNCTIONS,
};
