import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { ResearchRequestDto } from '../../modules/research/dto/research.dto';
import { SearchRequestDto } from '../../modules/research/dto/search-request.dto';
import { ResearchModule } from '../../modules/research/research.module';
import { ResearchService } from '../../modules/research/research.service';
import { SearchService } from '../../modules/research/search/search.service';
import { commandMeta, optionMeta } from '../catalogue';
import { UsageError } from '../cli-errors';
import { Output } from '../output/output';
import { Spinner } from '../output/progress';
import { interruptible, numberOption, requestInput } from './request-input';
import { printImageResults, printRagAnswer, printSummary, printWebResults } from './research-views';

const WEB = ['search', 'web'];
const IMAGES = ['search', 'images'];
const RESEARCH = ['search', 'research'];

interface SearchOptions {
  max?: number;
  safesearch?: string;
  json?: boolean;
}

/** The words of the query as `POST /search/*` would take them, checked by its DTO. */
function searchRequest(words: string[], options: SearchOptions): SearchRequestDto {
  return requestInput(SearchRequestDto, { query: words.join(' ').trim(), max_results: options.max, safesearch: options.safesearch }, {
    query: 'the query',
    max_results: '--max',
    safesearch: '--safesearch',
  });
}

/** Shared by `search web` and `search images`: validate, search with a spinner, print. */
async function runSearch<Item>(
  out: Output,
  words: string[],
  options: SearchOptions,
  find: (query: { query: string; maxResults: number; safesearch: SearchRequestDto['safesearch']; signal: AbortSignal }) => Promise<Item[]>,
  none: string,
  print: (out: Output, items: Item[]) => void,
): Promise<void> {
  const request = searchRequest(words, options);
  const spinner = new Spinner('searching').start();
  const items = await interruptible((signal) =>
    find({ query: request.query, maxResults: request.max_results, safesearch: request.safesearch, signal }),
  ).finally(() => spinner.stop());
  if (options.json) return out.json({ items });
  if (items.length === 0) return out.note(none);
  print(out, items);
}

/** `vega search web QUERY`: the results as a table, or the API's JSON. */
@SubCommand(commandMeta(...WEB))
export class SearchWebCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly search: SearchService) {
    super();
  }

  run(words: string[], options: SearchOptions): Promise<void> {
    return runSearch(this.out, words, options, (query) => this.search.web(query), 'No results.', printWebResults);
  }

  @Option(optionMeta(WEB, '--max'))
  parseMax(value: string): number {
    return numberOption(value, '--max');
  }

  @Option(optionMeta(WEB, '--safesearch'))
  parseSafesearch(value: string): string {
    return value;
  }

  @Option(optionMeta(WEB, '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** `vega search images QUERY`: size, image URL and title of each image. */
@SubCommand(commandMeta(...IMAGES))
export class SearchImagesCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly search: SearchService) {
    super();
  }

  run(words: string[], options: SearchOptions): Promise<void> {
    return runSearch(this.out, words, options, (query) => this.search.images(query), 'No images.', printImageResults);
  }

  @Option(optionMeta(IMAGES, '--max'))
  parseMax(value: string): number {
    return numberOption(value, '--max');
  }

  @Option(optionMeta(IMAGES, '--safesearch'))
  parseSafesearch(value: string): string {
    return value;
  }

  @Option(optionMeta(IMAGES, '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** `vega search research QUERY [--rag]`: the model's answer, then the numbered sources it cites. */
@SubCommand(commandMeta(...RESEARCH))
export class SearchResearchCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly research: ResearchService) {
    super();
  }

  async run(words: string[], options: { max?: number; rag?: boolean; json?: boolean }): Promise<void> {
    const request = requestInput(ResearchRequestDto, { query: words.join(' ').trim(), max_results: options.max }, { query: 'the query', max_results: '--max' });
    const query = { query: request.query, maxResults: request.max_results };
    const spinner = new Spinner(options.rag ? 'reading the pages and ranking passages' : 'reading the pages').start();
    try {
      if (options.rag) {
        const answer = await interruptible((signal) => this.research.rag({ ...query, signal }));
        spinner.stop();
        if (options.json) this.out.json(answer);
        else printRagAnswer(this.out, answer);
      } else {
        const answer = await interruptible((signal) => this.research.summarize({ ...query, signal }));
        spinner.stop();
        if (options.json) this.out.json(answer);
        else printSummary(this.out, answer);
      }
    } finally {
      spinner.stop();
    }
  }

  @Option(optionMeta(RESEARCH, '--max'))
  parseMax(value: string): number {
    return numberOption(value, '--max');
  }

  @Option(optionMeta(RESEARCH, '--rag'))
  parseRag(): boolean {
    return true;
  }

  @Option(optionMeta(RESEARCH, '--json'))
  parseJson(): boolean {
    return true;
  }
}

const SUBCOMMANDS = [SearchWebCommand, SearchImagesCommand, SearchResearchCommand];

@Command({ ...commandMeta('search'), subCommands: SUBCOMMANDS })
export class SearchCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('vega search: give a command: web, images, research');
  }
}

@Module({ imports: [ResearchModule], providers: [SearchCommand, ...SUBCOMMANDS] })
export class SearchCommandsModule {}
