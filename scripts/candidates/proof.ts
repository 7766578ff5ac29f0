/**
 * Encodings of a storage proof of the whole parent state, as ParachainBlockData carries it.
 * - StorageProof { trie_nodes: BTreeSet<Vec<u8>> }: every node, sorted, each once.
 * - CompactProof { encoded_nodes: Vec<Vec<u8>> } (trie-db's compact encoding): the nodes depth
 *   first from the root, each branch child that follows in the stream written as an empty inline
 *   reference instead of its hash (the decoder rebuilds the hashes).
 */
import { Bytes, Vector } from 'scale-ts';
import { decodeNode, encodeNode, trieHash, type ChildHandle, type TrieNode } from '../../engines/v8/host/trie.ts';

const bytesVec = Vector.enc(Bytes.enc());

export function encodeStorageProof(nodes: Uint8Array[]): Uint8Array {
  const unique = new Map<string, Uint8Array>();
  for (const n of nodes) unique.set(Buffer.from(n).toString('hex'), n);
  const sorted = [...unique.keys()].sort().map((k) => unique.get(k)!);
  return bytesVec(sorted);
}

export function encodeCompactProof(nodes: Uint8Array[], root: Uint8Array): Uint8Array {
  const byHash = new Map<string, Uint8Array>();
  for (const n of nodes) byHash.set(Buffer.from(trieHash('blake2_256', n)).toString('hex'), n);
  const out: Uint8Array[] = [];
  const visit = (hash: Uint8Array): void => {
    const raw = byHash.get(Buffer.from(hash).toString('hex'));
    if (!raw) throw new Error(`proof node ${Buffer.from(hash).toString('hex')} missing`);
    const node = decodeNode(raw);
    if (node.type !== 'branch') {
      out.push(raw);
      return;
    }
    const follow: Uint8Array[] = [];
    const children = node.children.map((c): ChildHandle | null => {
      if (c === null || c.kind === 'inline') return c;
      follow.push(c.hash);
      return { kind: 'inline', data: new Uint8Array(0) };
    });
    const rewritten: TrieNode = { ...node, children };
    out.push(encodeNode(rewritten));
    for (const h of follow) visit(h);
  };
  visit(root);
  return bytesVec(out);
}
