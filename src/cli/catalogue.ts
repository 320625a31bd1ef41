/**
 * Every `vega` command, its arguments, options and examples, as plain data. `--help` is
 * rendered from here without booting Nest, and the command classes take their nest-commander
 * metadata from here (`commandMeta`, `optionMeta`), so the two cannot drift apart.
 */
export interface OptionSpec {
  /** Commander flags, e.g. `--limit <n>`, `--no-stream`. */
  flags: string;
  description: string;
}

export interface CommandSpec {
  name: string;
  /** Commander arguments, e.g. `<prompt...>`. */
  arguments?: string;
  summary: string;
  /** Longer help text, shown by `vega <command> --help`. */
  details?: string;
  options?: OptionSpec[];
  examples?: string[];
  subcommands?: CommandSpec[];
  /** With subcommands, the command also runs by itself with its own options (`vega train --config`). */
  runsItself?: boolean;
}

const JSON_OPTION: OptionSpec = { flags: '--json', description: 'print JSON for scripts instead of text' };

export const COMMANDS: CommandSpec[] = [
  {
    name: 'serve',
    summary: 'start the HTTP API (as `npm start`)',
    details: 'Listens on HOST:PORT (default 127.0.0.1:8000) with the configuration from .env and the environment.',
    examples: ['vega serve', 'PORT=9000 vega serve'],
  },
  {
    name: 'chat',
    arguments: '<prompt...>',
    summary: 'ask the model; the answer streams to the terminal',
    details:
      'The exchange is stored with source "cli". Pass --session to continue a conversation: its last MEMORY_TURNS exchanges are sent as history. Ctrl-C stops the answer (and the model).',
    options: [
      { flags: '--session <id>', description: 'continue this session (letters, digits, _ and -, at most 64)' },
      { flags: '--model <name>', description: 'use this model instead of MODEL_NAME' },
      { flags: '--no-stream', description: 'print the answer once it is complete' },
      { flags: '--image <file>', description: 'an image for the model to look at (PNG, JPEG, GIF or WebP); repeat for more, at most 4' },
      { flags: '--think', description: "let the model reason first (models that can); the reasoning goes to stderr, dimmed on a terminal" },
      { flags: '--think-level <level>', description: 'as --think, with an effort: low, medium, high or max' },
      { flags: '--format <json|schema>', description: 'answer in JSON: "json", a JSON Schema, or a file holding one' },
      { ...JSON_OPTION, description: 'print the result as JSON (answer, ids, usage, thinking) once complete' },
    ],
    examples: [
      'vega chat "Name three uses of a circuit breaker."',
      'vega chat --think --format json "Three primes as a JSON object" | jq .',
      'vega chat --image cat.png --image dog.jpg "Which of these is the cat?"',
      'vega chat --session 9f0c2a1b7d3e4f56 "And a fourth?"',
      'vega chat --json "Summarise WAL mode in one line" | jq -r .response',
    ],
  },
  {
    name: 'repl',
    summary: 'an interactive chat that remembers the conversation',
    details:
      'Type a prompt and press Enter. /history shows this session, /reset starts a new one, /exit (or Ctrl-D) leaves. Ctrl-C stops the answer in flight; at an empty prompt it leaves.',
    options: [
      { flags: '--session <id>', description: 'resume this session' },
      { flags: '--model <name>', description: 'use this model instead of MODEL_NAME' },
    ],
    examples: ['vega repl', 'vega repl --session 9f0c2a1b7d3e4f56', 'printf "hello\\n/exit\\n" | vega repl'],
  },
  {
    name: 'history',
    summary: 'recent exchanges, newest first',
    options: [
      { flags: '--limit <n>', description: 'how many (1..500, default 20)' },
      { flags: '--session <id>', description: 'only this session' },
      { flags: '--search <query>', description: 'full-text search: words and "quoted phrases", word* for a prefix' },
      { flags: '--status <list>', description: 'only these statuses, a comma list of ok, cached, error, aborted' },
      JSON_OPTION,
    ],
    examples: [
      'vega history',
      'vega history --limit 5 --session 9f0c2a1b7d3e4f56',
      'vega history --search "circuit breaker" --json',
      'vega history --status error,aborted',
    ],
  },
  {
    name: 'session',
    arguments: '<id>',
    summary: "a session's exchanges, oldest first",
    options: [JSON_OPTION],
    examples: ['vega session 9f0c2a1b7d3e4f56', 'vega session 9f0c2a1b7d3e4f56 --json'],
  },
  {
    name: 'feedback',
    arguments: '<id>',
    summary: 'rate, tag or annotate a stored exchange',
    options: [
      { flags: '--rating <n>', description: 'rating 1..5' },
      { flags: '--tags <text>', description: 'tags, e.g. "good,concise"' },
      { flags: '--notes <text>', description: 'free-text notes' },
      { flags: '--reviewed', description: 'mark as reviewed' },
      JSON_OPTION,
    ],
    examples: ['vega feedback 42 --rating 5 --tags good,concise', 'vega feedback 42 --notes "wrong date" --reviewed'],
  },
  {
    name: 'search',
    summary: 'web and image search, and research answers with numbered sources',
    details:
      'Asks the configured provider (SEARCH_PROVIDER: DuckDuckGo or SearXNG). Pages are fetched through the SSRF-guarded fetcher: private and loopback targets are refused unless FETCH_ALLOW_PRIVATE=true or FETCH_ALLOW_HOSTS lists them.',
    subcommands: [
      {
        name: 'web',
        arguments: '<query...>',
        summary: 'search the web: title and URL of each result, each URL once',
        options: [
          { flags: '--max <n>', description: 'how many results (1..20, default 5)' },
          { flags: '--safesearch <level>', description: 'off, moderate (default) or strict' },
          JSON_OPTION,
        ],
        examples: ['vega search web circuit breaker pattern', 'vega search web "sqlite wal mode" --max 10 --json | jq -r ".items[].href"'],
      },
      {
        name: 'images',
        arguments: '<query...>',
        summary: 'search for images: size, image URL and title, each image once',
        options: [
          { flags: '--max <n>', description: 'how many images (1..20, default 5)' },
          { flags: '--safesearch <level>', description: 'off, moderate (default) or strict' },
          JSON_OPTION,
        ],
        examples: ['vega search images miniature circuit breaker --max 3', 'vega search images "red panda" --safesearch strict --json'],
      },
      {
        name: 'research',
        arguments: '<query...>',
        summary: 'search, read the top pages and have the model answer citing them as [n]',
        details:
          'Prints the answer, then the numbered sources. By default the model summarizes the pages (POST /research/summarize); --rag answers from the most relevant passages instead (POST /research/rag). Pages that fail are listed with their error.',
        options: [
          { flags: '--max <n>', description: 'how many search results to read (1..10, default 5)' },
          { flags: '--rag', description: 'answer from the best passages (BM25, plus embeddings when EMBED_MODEL is set)' },
          JSON_OPTION,
        ],
        examples: ['vega search research "how does a circuit breaker recover?"', 'vega search research --rag --max 8 "half-open state"', 'vega search research "wal mode" --json | jq -r .summary'],
      },
    ],
  },
  {
    name: 'osint',
    summary: 'look-ups: DNS, reverse DNS, HTTP headers, TLS certificate, robots.txt, WHOIS, usernames',
    details:
      'The same services as the /osint/* routes. Web targets go through the SSRF-guarded fetcher (private and loopback targets refused unless FETCH_ALLOW_PRIVATE=true or FETCH_ALLOW_HOSTS); DNS uses the system resolver or DNS_SERVERS.',
    subcommands: [
      {
        name: 'dns',
        arguments: '<host>',
        summary: 'addresses and the A, AAAA, MX, TXT, NS and CNAME records of a name',
        options: [JSON_OPTION],
        examples: ['vega osint dns example.com', 'vega osint dns example.com --json | jq .records.MX'],
      },
      {
        name: 'reverse-dns',
        arguments: '<ip>',
        summary: 'the PTR names of an IPv4 or IPv6 address',
        options: [JSON_OPTION],
        examples: ['vega osint reverse-dns 8.8.8.8'],
      },
      {
        name: 'headers',
        arguments: '<url>',
        summary: 'the response headers of a URL, and which security headers are missing',
        options: [JSON_OPTION],
        examples: ['vega osint headers https://example.com/', 'vega osint headers https://example.com/ --json | jq .security.missing'],
      },
      {
        name: 'ssl',
        arguments: '<host>',
        summary: "a server's TLS certificate (self-signed and expired ones too), days left and whether it is trusted",
        options: [{ flags: '--port <n>', description: 'TLS port (1..65535, default 443)' }, JSON_OPTION],
        examples: ['vega osint ssl example.com', 'vega osint ssl mail.example.com --port 993 --json'],
      },
      {
        name: 'robots',
        arguments: '<url>',
        summary: "a site's robots.txt (at the origin of the URL)",
        options: [JSON_OPTION],
        examples: ['vega osint robots https://example.com/', 'vega osint robots https://example.com/ | grep -i disallow'],
      },
      {
        name: 'whois',
        arguments: '<domain>',
        summary: 'registrar, dates, status and name servers of a domain (RDAP, then WHOIS on port 43)',
        options: [JSON_OPTION],
        examples: ['vega osint whois example.com', 'vega osint whois example.com --json | jq -r .expires'],
      },
      {
        name: 'username',
        arguments: '<name>',
        summary: 'look for a username on many sites, each by its own rule (progress bar on a terminal)',
        details:
          'Probes the profile URL of every site in the site list (bundled, or USERNAME_SITES_FILE), 16 at a time. FOUND is yes, no, or ? when inconclusive (a redirect, an error, a rate limit): a redirect is never taken as proof.',
        options: [
          { flags: '--nsfw', description: 'also probe adult sites' },
          { flags: '--sites <names>', description: 'only these sites, comma-separated (names from the site list, any case)' },
          JSON_OPTION,
        ],
        examples: ['vega osint username octocat', 'vega osint username octocat --sites GitHub,Reddit', 'vega osint username octocat --json | jq -r ".items[] | select(.exists) | .url"'],
      },
    ],
  },
  {
    name: 'net',
    summary: 'network checks of allowed hosts (NET_SCAN_ALLOW)',
    subcommands: [
      {
        name: 'scan',
        arguments: '<host>',
        summary: 'TCP connect scan: open, closed or filtered, only hosts NET_SCAN_ALLOW covers',
        details:
          'A host (and every address its name resolves to) outside NET_SCAN_ALLOW is refused before any connection is tried (exit 1). Ports are a comma list of ports and ranges, at most 1024 in all.',
        options: [
          { flags: '--ports <list>', description: 'ports to try, e.g. 22,80,443 or 8000-8010 (required)' },
          { flags: '--timeout <seconds>', description: 'wait for each connection (0.01..10, default 0.6)' },
          { flags: '--concurrency <n>', description: 'connections tried at once (1..1000, default 200)' },
          JSON_OPTION,
        ],
        examples: ['vega net scan 127.0.0.1 --ports 22,80,443', 'vega net scan 10.0.0.5 --ports 8000-8010,9090 --timeout 1 --json'],
      },
    ],
  },
  {
    name: 'gen',
    summary: 'generation settings (temperature, top_p, …), kept across restarts',
    details:
      'Changes are stored in <data dir>/generation.json and apply to chats from the CLI at once and to the HTTP API when it next starts (POST /admin/gen changes a running server).',
    subcommands: [
      { name: 'show', summary: 'the current settings', options: [JSON_OPTION], examples: ['vega gen show', 'vega gen show --json'] },
      {
        name: 'set',
        arguments: '<name=value...>',
        summary: 'change settings: temperature 0..2, top_p 0..1, top_k 1..1000, repeat_penalty 0..2, presence_penalty and frequency_penalty -2..2',
        options: [JSON_OPTION],
        examples: ['vega gen set temperature=0.2', 'vega gen set top_p=0.8 top_k=20'],
      },
      {
        name: 'dynamic',
        arguments: '<on|off>',
        summary: 'adapt temperature/top_p to each prompt (GEN_DYNAMIC)',
        options: [JSON_OPTION],
        examples: ['vega gen dynamic on'],
      },
      { name: 'reset', summary: 'back to the GEN_* configuration', options: [JSON_OPTION], examples: ['vega gen reset'] },
    ],
  },
  {
    name: 'db',
    summary: 'database maintenance: backup, check, vacuum, export, import, purge, search, stats, migrate, copy',
    subcommands: [
      {
        name: 'backup',
        summary: 'a consistent copy in <data dir>/backups/',
        options: [JSON_OPTION],
        examples: ['vega db backup'],
      },
      {
        name: 'check',
        summary: 'is the database file sound? PRAGMA quick_check and the search index check (exit 1 with the findings)',
        details:
          'Examines the file from a connection of its own, also when the server runs, and changes nothing. A damaged database is restored from a backup: stop Vega, copy the newest file of <data dir>/backups/ over the database file, start again.',
        options: [{ flags: '--full', description: 'PRAGMA integrity_check instead: slower, also matches every index against its table' }, JSON_OPTION],
        examples: ['vega db check', 'vega db check --full --json'],
      },
      { name: 'vacuum', summary: 'compact the database file', options: [JSON_OPTION], examples: ['vega db vacuum'] },
      {
        name: 'export',
        summary: 'every conversation in full (kind, request, answer) as JSON Lines (to stdout, or --out FILE)',
        options: [{ flags: '--out <file>', description: 'write to this new file instead of stdout (an existing file is never overwritten)' }],
        examples: ['vega db export --out conversations.jsonl', 'vega db export | gzip > conversations.jsonl.gz'],
      },
      {
        name: 'import',
        arguments: '<file>',
        summary: 'add the conversations of an export, whole (JSON Lines; "-" reads stdin); a bad line is named and stops it',
        options: [JSON_OPTION],
        examples: ['vega db import conversations.jsonl', 'gunzip -c conversations.jsonl.gz | vega db import -'],
      },
      {
        name: 'purge',
        arguments: '<days>',
        summary: 'delete conversations older than that many days',
        options: [JSON_OPTION],
        examples: ['vega db purge 90'],
      },
      {
        name: 'search',
        arguments: '<query...>',
        summary: 'full-text search, most relevant first',
        options: [{ flags: '--limit <n>', description: 'how many (1..500, default 20)' }, JSON_OPTION],
        examples: ['vega db search kubernetes', 'vega db search \'"circuit breaker"\' --limit 5 --json'],
      },
      { name: 'stats', summary: 'database file, size and row count', options: [JSON_OPTION], examples: ['vega db stats'] },
      {
        name: 'migrate',
        summary: 'apply the pending schema migrations (for MIGRATIONS_RUN=false), then list them',
        details:
          'With MIGRATIONS_RUN=false, Vega does not migrate at start: run this once per upgrade, before the new version starts. On PostgreSQL the migrations run under an advisory lock, so a second run (or an instance starting) waits and then finds nothing to do.',
        options: [JSON_OPTION],
        examples: ['MIGRATIONS_RUN=false vega db migrate'],
      },
      {
        name: 'copy',
        summary: 'copy every table from one database to another (SQLite to PostgreSQL, or back), resumable, verified',
        details:
          'Copies conversations (every column), api_keys, audit_log and spool_applied in batches of one INSERT each, ids as they are (PostgreSQL sequences are moved past them); usage_daily is rebuilt by the target\'s triggers. The target is migrated first; the source is only read. A target that already holds rows is refused (exit 2) unless they are an interrupted copy of the same source, which is then continued. At the end both sides are compared by row counts and a checksum per table (exit 1 when they differ).',
        options: [
          { flags: '--from <url>', description: 'the source: sqlite:<path> or postgres://user:password@host:port/database' },
          { flags: '--to <url>', description: 'the target, as --from: an empty database, or an interrupted copy of the source' },
          { flags: '--batch-size <n>', description: 'rows per INSERT (1..10000, default 500)' },
          JSON_OPTION,
        ],
        examples: [
          'vega db copy --from sqlite:data/vega.db --to postgres://vega:secret@db.internal/vega',
          'vega db copy --from postgres://vega@db.internal/vega --to sqlite:/tmp/vega-copy.db --json',
        ],
      },
    ],
  },
  {
    name: 'health',
    summary: 'is the model backend reachable, the model present, the database fine? (exit 1 when not)',
    options: [JSON_OPTION],
    examples: ['vega health', 'vega health --json'],
  },
  {
    name: 'backends',
    runsItself: true,
    summary: 'the model servers behind the running server: health, breaker, load, models, latency, errors; drain, resume and reload',
    details:
      'Asks the running server (HOST:PORT, with API_KEY or the key stored in the data directory) what GET /admin/backends answers: each target with its kind, health, circuit breaker, requests in flight against its max concurrency, queued requests, loaded models, median latency, requests and errors. Exit 1 when no server answers.',
    options: [JSON_OPTION],
    examples: ['vega backends', 'vega backends --json | jq \'.backends[] | select(.health == "down") | .name\'', 'vega backends drain gpu-1', 'vega backends resume gpu-1', 'vega backends reload'],
    subcommands: [
      {
        name: 'drain',
        arguments: '<name>',
        summary: 'send nothing new to this model server (what runs there finishes): for maintenance',
        details: 'POST /admin/backends/{name}/drain on the running server. Requests go to the other targets that serve their model; until resumed or the server restarts.',
        options: [JSON_OPTION],
        examples: ['vega backends drain gpu-1'],
      },
      {
        name: 'resume',
        arguments: '<name>',
        summary: 'send requests to a drained model server again',
        options: [JSON_OPTION],
        examples: ['vega backends resume gpu-1'],
      },
      {
        name: 'reload',
        summary: 'read BACKENDS_FILE again and apply it on the running server (every instance, with Redis)',
        details:
          'POST /admin/backends/reload on the running server: the file is checked whole, then targets are added, removed (what runs on them finishes) or changed, with the strategy, aliases and fallbacks. A file with problems is refused with each one named (exit 1) and the servers in use stay. SIGHUP to a server without a terminal (systemd, containers) does the same.',
        options: [JSON_OPTION],
        examples: ['vega backends reload', 'vega backends reload --json'],
      },
    ],
  },
  {
    name: 'dataset',
    summary: 'training datasets from your files',
    subcommands: [
      {
        name: 'build',
        arguments: '<dir>',
        summary: 'read .jsonl, .json, .csv, .txt and .md files under DIR into one JSONL dataset',
        details:
          'Walks DIR recursively (symbolic links and hidden entries are not followed) and recognises {prompt, response}, Alpaca {instruction, input, output}, chat {messages}, ShareGPT {conversations}, CSV with prompt/response (or question/answer, instruction/output) columns, and Q:/A: or "### Question"/"### Answer" pairs in text and Markdown. A bad file or record is skipped and counted by reason, never fatal. Records go to --out (never overwritten) or stdout; the summary table goes to stdout with --out, else to stderr.',
        options: [
          { flags: '--out <file>', description: 'write the dataset to this new file instead of stdout' },
          { flags: '--format <format>', description: 'chat, alpaca, sharegpt or prompt-response (default)' },
          { ...JSON_OPTION, description: 'print the summary as JSON' },
        ],
        examples: ['vega dataset build ./notes --out dataset.jsonl', 'vega dataset build ./exports --format chat --out chat.jsonl --json'],
      },
    ],
  },
  {
    name: 'train',
    runsItself: true,
    summary: 'fine-tuning hand-off: a training bundle for a GPU machine, then the tuned model in Ollama',
    details:
      "Vega does not train. vega train --config FILE validates the YAML config (each bad field is named), builds the dataset in the trainer's format and writes a bundle to output_dir (or --out): dataset.jsonl, axolotl.yaml (an Axolotl LoRA config), README.md with the exact commands for the GPU machine, and a Modelfile. An existing non-empty directory is never written into. Once trained, vega train register creates the model in Ollama.",
    options: [
      { flags: '--config <file>', description: 'the training config (YAML), e.g. training/config.yaml (required)' },
      { flags: '--out <dir>', description: "write the bundle here instead of the config's output_dir" },
      { ...JSON_OPTION, description: 'print the summary as JSON' },
    ],
    examples: ['vega train --config training/config.yaml', 'vega train --config training/config.yaml --out /tmp/bundle --json'],
    subcommands: [
      {
        name: 'register',
        summary: 'create the tuned model in Ollama from a base model and a trained LoRA adapter',
        details:
          'Checks the adapter (a GGUF file, or a directory with adapter_model.safetensors and adapter_config.json) and that Ollama has the base model, uploads the adapter blobs Ollama does not have yet, creates the model (POST /api/create) with the system prompt and parameters, and checks that /api/tags lists it. The system prompt is --system-prompt, else SYSTEM_PROMPT_FILE when set. With --eval FILE, the eval set then runs against the new model (its own system prompt, nothing sent over it), scored as vega learn evaluate scores, and the run report is written to <data dir>/runs; exit 1 when no item could be answered. Exit 2 for a bad adapter path or option, 1 when Ollama is down or lacks the base model.',
        options: [
          { flags: '--adapter <path>', description: 'the trained adapter: a .gguf file or a PEFT safetensors directory (required)' },
          { flags: '--base <model>', description: 'the Ollama model the adapter was trained on, e.g. qwen2.5:1.5b-instruct (required)' },
          { flags: '--name <name>', description: 'the name of the new model, e.g. vega-tuned (required)' },
          { flags: '--system-prompt <file>', description: 'the system prompt of the model (default: SYSTEM_PROMPT_FILE)' },
          { flags: '--param <name=value>', description: 'a model parameter such as temperature=0.7 or stop="<|im_end|>" (repeatable)' },
          { flags: '--eval <file>', description: 'then run this eval set ({prompt, expected} lines) against the new model, as vega learn evaluate does' },
          JSON_OPTION,
        ],
        examples: [
          'vega train register --adapter outputs/adapter.gguf --base qwen2.5:1.5b-instruct --name vega-tuned',
          'vega train register --adapter outputs/adapter --base llama3.2:3b --name support-bot --param temperature=0.3 --param num_ctx=4096 --json',
          'vega train register --adapter outputs/adapter.gguf --base qwen2.5:1.5b-instruct --name vega-tuned --eval eval.jsonl',
        ],
      },
    ],
  },
  {
    name: 'learn',
    summary: 'make your model better: a training set from your rated conversations, evaluation, the best system prompt',
    subcommands: [
      {
        name: 'curate',
        summary: 'export the stored exchanges as a training set: only ok ones, duplicates removed, PII masked',
        details:
          'Reads the conversations database, newest first. Only chats with status ok are kept (not embedding calls or raw completions; not error, aborted or cached); a prompt asked more than once, also up to case, whitespace, punctuation and Unicode forms, is kept once: the newest exchange wins. Emails, phone and card numbers, IBANs, IP addresses and secrets are masked in prompt and response, whatever PII_MASKING says. Without filters every ok exchange is exported; --tags keeps exchanges carrying any of the tags (trimmed; ASCII letters ignore case). Records go to --out (never overwritten) or stdout; the summary table goes to stdout with --out, else to stderr. The same export is GET /admin/export?format=….',
        options: [
          { flags: '--min-rating <n>', description: 'only exchanges rated at least n (1..5)' },
          { flags: '--reviewed-only', description: 'only exchanges marked as reviewed' },
          { flags: '--since <date>', description: 'only exchanges stored at or after this ISO 8601 date or date-time (UTC unless an offset is given)' },
          { flags: '--tags <list>', description: 'only exchanges carrying any of these comma-separated tags' },
          { flags: '--out <file>', description: 'write the dataset to this new file instead of stdout' },
          { flags: '--format <format>', description: 'chat, alpaca, sharegpt or prompt-response (default)' },
          { ...JSON_OPTION, description: 'print the summary as JSON' },
        ],
        examples: [
          'vega learn curate --min-rating 4 --out curated.jsonl',
          'vega learn curate --reviewed-only --tags good,concise --format chat --out chat.jsonl --json',
          'vega learn curate --since 2026-11-01 | wc -l',
        ],
      },
      {
        name: 'evaluate',
        arguments: '<eval-file>',
        summary: 'run each {prompt, expected} line through the model and score the answers',
        details:
          'Each prompt goes through the same model service as the API (cache, circuit breaker, retries, timeouts), with the system prompt of SYSTEM_PROMPT_FILE unless --system-prompt is given; nothing is stored in the history. Scores: exact match after trimming 1.0, the expected text contained in the answer (lower case, NFKC, punctuation and extra spaces ignored, whole words) 0.8, token-overlap F1 (SQuAD); the item keeps the highest. A bad line is skipped with its number; a failed call scores 0 and the run goes on. The run report is written to <data dir>/runs/eval-<time>.json (--runs-dir to change). Exit 1 when no item could be answered.',
        options: [
          { flags: '--system-prompt <file>', description: 'use this system prompt instead of SYSTEM_PROMPT_FILE' },
          { flags: '--model <name>', description: 'evaluate this model instead of MODEL_NAME' },
          { flags: '--concurrency <n>', description: 'prompts in flight at once (1..64, default 4)' },
          { flags: '--judge <model>', description: 'also have this model grade each answer 0..1 with a fixed rubric' },
          { flags: '--runs-dir <dir>', description: 'write the run report here instead of <data dir>/runs' },
          { ...JSON_OPTION, description: 'print the run report as JSON' },
        ],
        examples: [
          'vega learn evaluate eval.jsonl',
          'vega learn evaluate eval.jsonl --system-prompt prompts/concise.txt --concurrency 8',
          'vega learn evaluate eval.jsonl --judge llama3.1:70b --json | jq .summary',
        ],
      },
      {
        name: 'compare',
        arguments: '<report-a> <report-b>',
        summary: 'compare two run reports of the same eval file, item by item (B against A)',
        details: 'Items are matched by prompt. Reports of different eval files are refused (exit 2): their means do not measure the same thing.',
        options: [JSON_OPTION],
        examples: ['vega learn compare data/runs/eval-2026-11-24T09-00-00.000Z.json data/runs/eval-2026-11-24T10-00-00.000Z.json'],
      },
      {
        name: 'optimize-prompt',
        arguments: '<candidates> <eval-file>',
        summary: 'evaluate candidate system prompts on an eval set and rank them; --apply installs the best',
        details:
          'CANDIDATES is a directory (each file is one prompt, named after the file) or a JSON Lines file of {name?, prompt}. Ranked by mean score; ties go to fewer failed items, then to the earlier candidate. Each run report is written to the runs directory. --apply writes the winner to SYSTEM_PROMPT_FILE (the previous file kept as <file>.bak-<time>, written atomically) and asks a server at HOST:PORT to reload it; a running server also picks the change up through its file watch. --apply refuses when any call failed (the ranking would not be fair).',
        options: [
          { flags: '--apply', description: 'write the winner to SYSTEM_PROMPT_FILE (keeping a backup) and have the server reload it' },
          { flags: '--model <name>', description: 'evaluate with this model instead of MODEL_NAME' },
          { flags: '--concurrency <n>', description: 'prompts in flight at once (1..64, default 4)' },
          { flags: '--runs-dir <dir>', description: 'write the run reports here instead of <data dir>/runs' },
          { ...JSON_OPTION, description: 'print the ranking as JSON' },
        ],
        examples: ['vega learn optimize-prompt prompts/candidates/ eval.jsonl', 'vega learn optimize-prompt candidates.jsonl eval.jsonl --apply'],
      },
    ],
  },
  {
    name: 'admin',
    summary: 'administration: the audit log',
    subcommands: [
      {
        name: 'audit',
        summary: 'the audit log of model management (pull, push, create, copy, delete, blobs) and key changes, newest first',
        details:
          'Who (the key id, never the key), what (route and models), when, the outcome (ok, error, aborted) with the HTTP status, the duration and a short detail, read from the database. The same log is GET /admin/audit.',
        options: [
          { flags: '--limit <n>', description: 'how many (1..500, default 20)' },
          { flags: '--route <route>', description: 'only this route: a path (/api/pull) or a method and path ("DELETE /api/delete")' },
          { flags: '--outcome <outcome>', description: 'only ok, error or aborted' },
          { flags: '--since <date>', description: 'only calls at or after this time (ISO 8601; UTC unless an offset is given)' },
          { flags: '--cursor <cursor>', description: 'the next page: the next_cursor of a --json answer' },
          JSON_OPTION,
        ],
        examples: ['vega admin audit', 'vega admin audit --outcome error --since 2026-12-01', 'vega admin audit --route /api/pull --json | jq .items'],
      },
    ],
  },
  {
    name: 'usage',
    summary: 'requests, tokens, model-seconds, errors and latency per key, model, day or lane',
    details:
      'Read from the database\'s stored exchanges in [--from, --to) (default: the last 30 days; a date as --to includes that day), grouped by one or two dimensions, with a TOTAL line. Model-seconds are the backend\'s generation time; P50/P95 the exchanges\' duration. The same report is GET /admin/usage.',
    options: [
      { flags: '--from <date>', description: 'start of the range (ISO 8601 date or date-time; UTC unless an offset is given)' },
      { flags: '--to <date>', description: 'end of the range, excluded; a date includes that whole day (default: now)' },
      { flags: '--by <dimensions>', description: 'one or two of key, model, day, lane, comma-separated (default: key)' },
      JSON_OPTION,
      { flags: '--csv', description: 'print CSV (a header row, one row per group) for spreadsheets' },
    ],
    examples: ['vega usage', 'vega usage --by day,key --from 2026-11-01 --to 2026-11-30', 'vega usage --by model --json | jq .totals', 'vega usage --by day,model --csv > usage.csv'],
  },
  {
    name: 'keys',
    summary: 'managed API keys: create, list, show, update, rotate, revoke',
    details:
      'Works on the database directly, like vega db (a running server refuses a revoked key within a second). The secret (vk-…) is printed once, by create and rotate: only its digest is stored. Every change is written to the audit log under the key id "cli". The keys of API_KEY and API_KEYS_EXTRA are configuration and are not listed.',
    subcommands: [
      {
        name: 'create',
        arguments: '<name>',
        summary: 'a new key; prints its secret once',
        options: [
          { flags: '--scopes <list>', description: 'comma list of chat, research, history:own, history:all, admin (required)' },
          { flags: '--models <list>', description: 'comma list of the models it may use (default: every model)' },
          { flags: '--limit <name=value>', description: 'a limit: requests_per_minute, tokens_per_minute, concurrent_streams, tokens_per_day, tokens_per_month or model_seconds_per_day = a whole number (0: none); repeat for more' },
          { flags: '--expires <date>', description: 'when it stops working (ISO 8601 date or date-time, UTC unless an offset is given)' },
          JSON_OPTION,
        ],
        examples: [
          'vega keys create alice --scopes chat,history:own',
          'vega keys create ci --scopes chat --models llama3.2 --limit requests_per_minute=30 --limit tokens_per_day=200000 --expires 2027-01-01',
        ],
      },
      {
        name: 'list',
        summary: 'the managed keys, oldest first',
        options: [{ flags: '--all', description: 'also the revoked keys' }, JSON_OPTION],
        examples: ['vega keys list', 'vega keys list --all --json | jq .items'],
      },
      { name: 'show', arguments: '<key>', summary: 'one key, by id or name', options: [JSON_OPTION], examples: ['vega keys show alice'] },
      {
        name: 'update',
        arguments: '<key>',
        summary: 'change a key (by id or name): name, scopes, models, limits, expiry',
        options: [
          { flags: '--name <name>', description: 'a new name' },
          { flags: '--scopes <list>', description: 'the scopes, replacing the old ones' },
          { flags: '--models <list>', description: 'the allowed models, replacing the old list' },
          { flags: '--all-models', description: 'allow every model again' },
          { flags: '--limit <name=value>', description: 'set a limit (0: none), or name=default for the configured default; repeat for more' },
          { flags: '--expires <date>', description: 'a new expiry, or "never"' },
          JSON_OPTION,
        ],
        examples: ['vega keys update alice --limit tokens_per_day=100000 --limit requests_per_minute=default', 'vega keys update ci --all-models --expires never'],
      },
      { name: 'rotate', arguments: '<key>', summary: 'a new secret for the key (printed once); the old one stops working', options: [JSON_OPTION], examples: ['vega keys rotate alice'] },
      { name: 'revoke', arguments: '<key>', summary: 'revoke the key for good', options: [JSON_OPTION], examples: ['vega keys revoke alice'] },
    ],
  },
  {
    name: 'integrations',
    summary: 'check the integrations (Slack)',
    subcommands: [
      {
        name: 'test',
        summary: 'post a test message to SLACK_WEBHOOK_URL (exit 1 when Slack refuses it, 2 when Slack is not configured)',
        details:
          'Sent through the outbound fetcher, like the API\'s POST /integrations/test: the SSRF guard applies (FETCH_ALLOW_HOSTS, FETCH_ALLOW_PRIVATE). Slack\'s reason (invalid_token, no_service, channel_is_archived…) is printed when it refuses.',
        options: [JSON_OPTION],
        examples: ['vega integrations test', 'vega integrations test --json'],
      },
    ],
  },
];

/** Options every command accepts; handled before a command runs. */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  { flags: '-h, --help', description: 'show help for vega or for a command' },
  { flags: '-V, --version', description: 'print the version' },
  { flags: '--verbose', description: 'on failure, print the stack trace too' },
];

/** The spec at a path of names (`['db', 'export']`), or undefined. */
export function findCommand(path: readonly string[]): CommandSpec | undefined {
  let list = COMMANDS;
  let found: CommandSpec | undefined;
  for (const name of path) {
    found = list.find((command) => command.name === name);
    if (!found) return undefined;
    list = found.subcommands ?? [];
  }
  return found;
}

/** nest-commander's `@Command`/`@SubCommand` metadata for the command at `path`. */
export function commandMeta(...path: string[]): { name: string; arguments?: string; description: string } {
  const spec = findCommand(path);
  if (!spec) throw new Error(`vega ${path.join(' ')} is not in the command catalogue`);
  return { name: spec.name, arguments: spec.arguments, description: spec.summary };
}

/** nest-commander's `@Option` metadata for the option of the command at `path` whose flags start with `flag`. */
export function optionMeta(path: readonly string[], flag: string): { flags: string; description: string } {
  const option = findCommand(path)?.options?.find((candidate) => candidate.flags.split(/[ ,]/)[0] === flag);
  if (!option) throw new Error(`vega ${path.join(' ')} has no option ${flag} in the command catalogue`);
  return { flags: option.flags, description: option.description };
}
