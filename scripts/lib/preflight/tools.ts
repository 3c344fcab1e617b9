// Preflight for the tools: kind, helm and kubectl resolved (cache, PATH at the exact version, or
// a verified download), all problems reported together.
import type { ToolName } from '../../../kind/versions.ts';
import { type ResolvedTool, resolveTool, ToolError, type ToolOptions } from '../tools/fetch.ts';
import { PreflightError, PreflightErrors } from './errors.ts';

export type ToolPaths = Record<ToolName, ResolvedTool>;

export async function checkTools(
  opts: ToolOptions = {},
  names: readonly ToolName[] = ['kind', 'helm', 'kubectl'],
): Promise<ToolPaths> {
  const out: Partial<ToolPaths> = {};
  const problems: PreflightError[] = [];
  for (const name of names) {
    try {
      out[name] = await resolveTool(name, opts);
    } catch (e) {
      if (!(e instanceof ToolError)) throw e;
      problems.push(new PreflightError('tools', e.message, e.hint));
    }
  }
  if (problems.length > 0) throw new PreflightErrors(problems);
  return out as ToolPaths;
}
