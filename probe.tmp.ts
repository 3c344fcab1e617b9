import { sharedCluster } from './test/control-plane/helpers/shared-cluster.ts';

try {
  const s = await sharedCluster();
  console.log('ok', s.cp.server);
  await s.cp.stop();
} catch (e) {
  console.log('ERR', e);
}
