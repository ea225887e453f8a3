import { describe, expect, it } from 'vitest';
import { explainCopyError } from '../../../src/web/engine/explain-error.ts';

const domError = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('explainCopyError: the verified image could not be copied into the chosen file', () => {
  const notReadable = domError('NotReadableError', 'The requested file could not be read');

  it('says a full disk when Chromium blames our own file, which can still be read', () => {
    expect(explainCopyError(notReadable, 'writing new.iso', true)).toBe(
      'writing new.iso: the browser could not write it (The requested file could not be read), as Chromium says when the disk is full. Free some space and try again.',
    );
  });

  it('says the file could not be read when it really cannot', () => {
    expect(explainCopyError(notReadable, 'writing new.iso', false)).toBe(
      'writing new.iso: the file could not be read; it changed or was removed after you picked it. Pick it again.',
    );
  });

  it('says a full disk for QuotaExceededError, and permission for NotAllowedError', () => {
    expect(explainCopyError(domError('QuotaExceededError', 'quota'), 'writing new.iso', true)).toBe(
      "writing new.iso: the disk is full, or the browser's storage quota is used up. Free some space and try again.",
    );
    expect(explainCopyError(domError('NotAllowedError', 'no'), 'writing new.iso', true)).toContain('writing new.iso: permission denied. Choose another place to save the image');
  });
});
