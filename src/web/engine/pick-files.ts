import type { SeedFile } from './messages.ts';

/** The File System Access pickers exist in Chromium browsers only; elsewhere the page uses <input> elements. */
export const hasFilePickers = typeof window !== 'undefined' && 'showOpenFilePicker' in window && 'showDirectoryPicker' in window;

type PickerWindow = {
  showOpenFilePicker(o: { multiple: boolean }): Promise<FileSystemFileHandle[]>;
  showDirectoryPicker(o?: { mode?: 'read' }): Promise<FileSystemDirectoryHandle>;
};

/** Picked files, with their handles (which can be remembered). */
export async function pickFiles(): Promise<{ files: SeedFile[]; handles: FileSystemFileHandle[] }> {
  const handles = await (window as unknown as PickerWindow).showOpenFilePicker({ multiple: true });
  return { files: await filesFromHandles(handles), handles };
}

/** A picked folder's files (recursively), with the folder's handle. */
export async function pickFolder(): Promise<{ files: SeedFile[]; handles: FileSystemDirectoryHandle[] }> {
  const dir = await (window as unknown as PickerWindow).showDirectoryPicker({ mode: 'read' });
  return { files: await filesFromHandles([dir]), handles: [dir] };
}

/** The files behind file and folder handles (folders recursively, in name order). */
export async function filesFromHandles(handles: (FileSystemFileHandle | FileSystemDirectoryHandle)[]): Promise<SeedFile[]> {
  const out: SeedFile[] = [];
  for (const h of handles) {
    if (h.kind === 'directory') await walkHandle(h, h.name, out);
    else out.push({ file: await h.getFile(), name: h.name });
  }
  return out;
}

async function walkHandle(dir: FileSystemDirectoryHandle, path: string, out: SeedFile[]): Promise<void> {
  const entries: [string, FileSystemHandle][] = [];
  for await (const entry of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) entries.push(entry);
  entries.sort((a, b) => a[0].localeCompare(b[0]));
  for (const [name, handle] of entries) {
    if (handle.kind === 'directory') await walkHandle(handle as FileSystemDirectoryHandle, `${path}/${name}`, out);
    else out.push({ file: await (handle as FileSystemFileHandle).getFile(), name: `${path}/${name}` });
  }
}

/** Files from <input type=file multiple> or <input webkitdirectory> (relative paths kept). */
export function filesFromInput(input: HTMLInputElement): SeedFile[] {
  return Array.from(input.files ?? [], (file) => ({ file, name: file.webkitRelativePath || file.name }));
}

/** Files and folders dropped on the page. */
export async function filesFromDrop(data: DataTransfer): Promise<SeedFile[]> {
  const entries = Array.from(data.items, (item) => item.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return Array.from(data.files, (file) => ({ file, name: file.name }));
  const out: SeedFile[] = [];
  for (const entry of entries) await walkEntry(entry, out);
  return out;
}

async function walkEntry(entry: FileSystemEntry, out: SeedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ file, name: entry.fullPath.replace(/^\//, '') });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    // readEntries returns the folder in batches until an empty one.
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walkEntry(child, out);
  }
}
