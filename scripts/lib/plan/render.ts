// The plan as a person reads it (--dry-run, plan.txt): numbered steps, each with its commands,
// files, gate and deadline.
import type { Plan } from './types.ts';

export function renderPlan(plan: Plan): string {
  const out: string[] = [];
  out.push('Plan (nothing has been run):');
  for (const [k, v] of Object.entries(plan.header)) out.push(`  ${k}: ${v}`);
  out.push('');
  plan.steps.forEach((s, i) => {
    const flags = [
      s.always ? 'always runs' : '',
      s.timeoutSec ? `deadline ${s.timeoutSec}s` : '',
      s.blockedBy?.length ? `blocked while ${s.blockedBy.join(', ')} cannot run here` : '',
    ].filter(Boolean);
    out.push(
      `${String(i + 1).padStart(2)}. [${s.phase}] ${s.id}: ${s.title}${flags.length ? ` (${flags.join(', ')})` : ''}`,
    );
    for (const c of s.commands) out.push(`      $ ${c}`);
    if (s.waitsFor) out.push(`      waits for: ${s.waitsFor}`);
    if (s.files?.length) out.push(`      files: ${s.files.join(', ')}`);
  });
  if (plan.blocked && Object.keys(plan.blocked).length) {
    out.push('', 'Blocked here (those steps are reported `blocked`, never pass):');
    for (const [what, why] of Object.entries(plan.blocked)) out.push(`  ${what}: ${why}`);
  }
  return `${out.join('\n')}\n`;
}
