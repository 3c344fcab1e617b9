// The capture summary a report carries (lab and cluster alike): what was recorded, how, and the
// flows that fit no path, with tcpdump's own drop counts turned into a warning.
import type { CaptureSummary } from '../report/types.ts';
import type { CaptureAnalysis } from './analyze.ts';
import type { Attribution } from './attribute.ts';
import type { CaptureStats } from './tcpdump.ts';

export function captureSummary(o: {
  driver: string;
  filter: string;
  scope: string;
  analysis: CaptureAnalysis;
  attribution: Attribution;
  stats: CaptureStats;
}): CaptureSummary {
  const summary: CaptureSummary = {
    driver: o.driver,
    filter: o.filter,
    scope: o.scope,
    packets: o.analysis.decode.tcp,
    flows: o.analysis.flows.length,
    exempt: o.attribution.exempt,
    unattributed: o.attribution.unattributed,
    warnings: [...o.analysis.warnings],
  };
  if (o.stats.captured !== undefined) summary.captured = o.stats.captured;
  if (o.stats.droppedByKernel !== undefined) {
    summary.droppedByKernel = o.stats.droppedByKernel;
    if (o.stats.droppedByKernel > 0) {
      summary.warnings.push(
        `${o.stats.droppedByKernel} packets dropped by the kernel: flows may be missing bytes`,
      );
    }
  }
  return summary;
}
