// --write FILE: put a report between its markers in FILE (docs/performance.md),
// leaving the rest of the file as it is.
import { readFile, writeFile } from 'node:fs/promises';

export type Section = 'comparison' | 'memory';

export const markers = (section: Section) => [`<!-- bench:${section}:begin (written by npm run bench -- --write) -->`, `<!-- bench:${section}:end -->`] as const;

export async function writeSection(file: string, section: Section, lines: string[]): Promise<void> {
  const text = await readFile(file, 'utf8');
  const [begin, end] = markers(section);
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file} has no section to replace: it needs the lines\n${begin}\n${end}`);
  await writeFile(file, text.slice(0, a + begin.length) + '\n' + lines.join('\n') + '\n' + text.slice(b));
}
