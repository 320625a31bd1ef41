import { opendir } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import type { FileSkipReason } from './dataset-example';
import type { DatasetLoader } from './loaders/dataset-loader';

export interface WalkedFile {
  path: string;
  /** Relative to the walked directory, for messages. */
  name: string;
  loader: DatasetLoader;
}

export interface WalkResult {
  files: WalkedFile[];
  skipped: { name: string; reason: FileSkipReason }[];
}

/**
 * The files under `root` that a loader reads, in a stable (sorted) order. Symbolic links are
 * never followed (a link could leave the directory or loop); hidden entries (`.git`, `.env`)
 * are not entered. Everything left out is returned with its reason. `exclude` holds absolute
 * paths to leave out silently (the output file, when it is written inside `root`).
 */
export async function walkDatasetDir(root: string, loaderFor: (extension: string) => DatasetLoader | undefined, exclude: ReadonlySet<string> = new Set()): Promise<WalkResult> {
  const result: WalkResult = { files: [], skipped: [] };
  const visit = async (dir: string): Promise<void> => {
    const entries = [];
    try {
      for await (const entry of await opendir(dir)) entries.push(entry);
    } catch (error) {
      // The root must be readable (the caller says so); a subdirectory that is not is reported.
      if (dir === root) throw error;
      result.skipped.push({ name: relative(root, dir), reason: 'unreadable' });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const name = relative(root, path);
      if (exclude.has(path)) continue;
      // Dirent types come from lstat: a symlink is reported as one, never as its target.
      if (entry.isSymbolicLink()) result.skipped.push({ name, reason: 'symlink' });
      else if (entry.name.startsWith('.')) result.skipped.push({ name, reason: 'hidden' });
      else if (entry.isDirectory()) await visit(path);
      else if (!entry.isFile()) result.skipped.push({ name, reason: 'not-a-regular-file' });
      else {
        const loader = loaderFor(extname(entry.name).toLowerCase());
        if (loader) result.files.push({ path, name, loader });
        else result.skipped.push({ name, reason: 'unsupported-type' });
      }
    }
  };
  await visit(root);
  return result;
}
