/** The complete PVF host function table of the v8 engine. */
import { CORE_FUNCTIONS, type HostFunctionTable } from './host.ts';

export const PVF_HOST_FUNCTIONS: HostFunctionTable = {
  ...CORE_FUNCTIONS,
};
