import { DatasetBuildService } from '../../src/modules/datasets/dataset-build.service';
import { LineSink } from '../../src/modules/datasets/line-sink';

/**
 * Builds a dataset in a process of its own and prints the summary with the process's peak
 * resident memory, so a test can check that memory stays flat however large the input:
 *   node -r @swc-node/register test/support/dataset-build.main.ts DIR OUT
 */
async function main([dir, out]: string[]): Promise<void> {
  const output = await LineSink.createFile(out);
  const summary = await new DatasetBuildService().build(dir, 'chat', output.sink, { outPath: out });
  await output.close();
  process.stdout.write(`${JSON.stringify({ ...summary, max_rss_bytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
