// The clients compared, per case (which seed they get), and what each is compared with.
export type CaseId = 'iso' | 'loose';
export type ToolId = 'tessera' | 'page-opfs' | 'page-save-as' | 'zsync' | 'tessera-jigdo' | 'jigdo';
/** Which control file a tool downloads. */
export type ControlId = 'tessera' | 'zsync' | 'jigdo';

export const CASE_LABEL: Record<CaseId, string> = { iso: 'old ISO', loose: 'loose files' };

export const TOOL: Record<ToolId, { label: string; control: ControlId }> = {
  tessera: { label: '`tessera get`', control: 'tessera' },
  'page-opfs': { label: 'page, OPFS output (no "Save as")', control: 'tessera' },
  'page-save-as': { label: 'page, "Save as" output', control: 'tessera' },
  zsync: { label: 'zsync 0.6.2', control: 'zsync' },
  'tessera-jigdo': { label: '`tessera get` .jigdo', control: 'jigdo' },
  jigdo: { label: 'jigdo-file make-image', control: 'jigdo' },
};

/** The order of the runs within a round (alternating tools) and of the table's rows. */
export const TOOLS_BY_CASE: Record<CaseId, ToolId[]> = {
  iso: ['tessera', 'page-opfs', 'page-save-as', 'zsync'],
  loose: ['tessera', 'tessera-jigdo', 'jigdo', 'zsync'],
};

/** What each case's figures are divided by. */
export const REFERENCES: Record<CaseId, ToolId[]> = { iso: ['zsync'], loose: ['zsync', 'jigdo'] };

/** --tools names: one may name several rows. */
export const TOOL_GROUPS: Record<string, ToolId[]> = {
  tessera: ['tessera'],
  page: ['page-opfs', 'page-save-as'],
  zsync: ['zsync'],
  jigdo: ['jigdo', 'tessera-jigdo'],
};
