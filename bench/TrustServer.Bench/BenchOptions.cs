using System.Globalization;

namespace TrustServer.Bench;

/// <summary>Command-line settings of a benchmark run (<c>bench/run.sh --help</c>).</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        Usage: bench/run.sh [options]

          --quick                 short run (~4 min idle): 2 s per GET measurement, 3 s per publish measurement,
                                  smaller import and re-signer rows
          --duration <s>          seconds per wrk measurement (default 10)
          --warmup <s>            seconds of unrecorded load per server and URL before its first measurement, and twice that
                                  of unrecorded publishing per server before the publish rows (default 3)
          --publish-duration <s>  seconds per publish measurement, at most (default 10)
          --connections <list>    wrk connection counts, comma separated (default 16,64)
          --read-runs <n>         the GET rows at 64 connections are measured n times in a row, each run interleaved with
                                  C0 and notary-server (default 3: issue 19's p99 target holds in three consecutive runs)
          --threads <n>           wrk threads (default 2: the machine has 2 cores)
          --parallel-repos <n>    repositories published in parallel (default 8)
          --only <part>           run one part only: reads (the GET rows, then the trust query rows), verify (the trust
                                  query rows only: GET /api/trust/v1/targets?name= and POST verify, TrustServer only),
                                  publishes, uploads (large invalid uploads), growth,
                                  import (`TrustServer.Server import notary-db` from a synthetic notary-server database)
                                  or resign (background re-signer throughput; TrustServer only, embedded signer)
                                  or scale (cold GETs and publishes on a small, then a bulk-loaded big database; query plans)
                                  or startup (the published server's start-up time and RSS: SQLite and PostgreSQL cases)
                                  or discovery (the background re-signer's discovery of N repositories, at start and
                                  from the changefeed; TrustServer only)
          --only bigrepo          the big-repository rows only (issue 19 target 4; they also run with the publish rows): one
                                  publisher, consecutive updates to a 3-target and a --bigrepo-targets repository
          --bigrepo-targets <n>   targets in the big repository (default 2000, ~190 KB targets.json)
          --scale-repos <n>       scale row: repositories of the big database (default 100000)
          --scale-files <n>       scale row: tuf_files rows of the big database, at least (default 1000000)
          --scale-small-repos <n> scale row: repositories of the small database, read once each per row (default 4000)
          --import-rows <n>       import row: tuf_files rows of the synthetic source, at least (default 100000;
                                  20000 with --quick)
          --resign-repos <n>      repositories due at once in the resign row (default 1000; 200 with --quick)
          --discovery-repos <n>   discovery row: repositories copied in before the start and again while it runs
                                  (default 20000; 2000 with --quick)
          --discovery-server-dll <path>  discovery row: this TrustServer.Server.dll instead of the built one (A/B)
          --growth-publishes <n>  growth row: publishes to one repository whose targets.json grows by one target
                                  each (default 10000; 0 skips the row; it runs only with --only growth)
          --growth-sample-every <n>  memory sample every n publishes (default 1000)
          --growth-initial-targets <n>  targets in the repository before the first update (default 1500, ~150 KB)
          --growth-target-padding <n>   bytes of custom data per target (default 0: ~100 B per target)
          --growth-no-reference   growth row on TrustServer only (not on notary-server)
          --growth-idle <s>       seconds of idling after the growth row before the last RSS sample (default 30)
          --startup-runs <n>      start-up rows (--only startup; also part of a full run): starts per case (default 5)
          --startup-publish-property <Name=Value>  an extra MSBuild property for the start-up row's dotnet publish
                                  (repeatable; e.g. PublishReadyToRun=false for an A/B run)
          --startup-published <dir>  start-up row: use this publish output (TrustServer.Server/, TrustServer.Signer/)
                                  instead of publishing
          --results <dir>         where to keep raw output and the summary (default bench/results/<timestamp>)
          --help                  this text

        Starts a private PostgreSQL, TrustServer (server + signer over mutual TLS), the reference notary-server +
        notary-signer, and a bare Kestrel control endpoint C0; seeds one repository in both servers with the real
        notary client; measures GETs with wrk and publishes with pre-signed uploads; prints one table. Targets are
        reported as PASS/FAIL but never change the exit code.

        Without --only (the full run): the GET rows, the trust query rows, the publish rows, the large-upload rows,
        then the import row and the re-signer row (each on its own processes and databases, after the memory
        samples) -- all in one summary.md / summary.json. The growth row runs only with --only growth.
        """;

    public double DurationSeconds { get; private set; } = 10;

    public double WarmupSeconds { get; private set; } = 3;

    public double PublishSeconds { get; private set; } = 10;

    public IReadOnlyList<int> Connections { get; private set; } = [16, 64];

    public int Threads { get; private set; } = 2;

    public int ParallelRepositories { get; private set; } = 8;

    public bool Quick { get; private set; }

    /// <summary>Whether the GET rows run (not when <c>--only publishes</c>).</summary>
    public bool RunReads { get; private set; } = true;

    /// <summary>Whether the publish rows run (not when <c>--only reads</c>).</summary>
    public bool RunPublishes { get; private set; } = true;

    /// <summary>Whether the large-upload rows run (issue §5; not with <c>--only reads|publishes</c>).</summary>
    public bool RunUploads { get; private set; } = true;

    /// <summary>
    /// Whether only the trust query rows run (<c>--only verify</c>): <c>GET /api/trust/v1/targets?name=</c> and
    /// <c>POST /api/trust/v1/verify</c>, TrustServer only. They also run after the GET rows of <c>reads</c>.
    /// </summary>
    public bool OnlyTrustQueries { get; private set; }

    /// <summary>Whether the growth row runs (<c>--only growth</c>).</summary>
    public bool RunGrowth { get; private set; }

    /// <summary>Whether the import row runs (<c>--only import</c>).</summary>
    public bool RunImport { get; private set; }

    /// <summary>Whether only the data-at-scale row runs (<c>--only scale</c>, ScaleBench).</summary>
    public bool RunScale { get; private set; }

    /// <summary>Repositories of the scale row's big database.</summary>
    public int ScaleRepositories { get; private set; } = 100_000;

    /// <summary>tuf_files rows of the scale row's big database, at least.</summary>
    public int ScaleFiles { get; private set; } = 1_000_000;

    /// <summary>Repositories of the scale row's small database.</summary>
    public int ScaleSmallRepositories { get; private set; } = 4_000;

    /// <summary>tuf_files rows of the import row's synthetic source (smaller by default with <c>--quick</c>).</summary>
    public int ImportRows => _importRows ?? (Quick ? 20_000 : 100_000);

    /// <summary>Whether only the re-signer throughput row runs (<c>--only resign</c>).</summary>
    public bool RunResign { get; private set; }

    /// <summary>Repositories due at once in the re-signer row (smaller by default with <c>--quick</c>).</summary>
    public int ResignRepositories => _resignRepositories ?? (Quick ? 200 : 1_000);

    /// <summary>Whether only the re-signer discovery row runs (<c>--only discovery</c>).</summary>
    public bool RunDiscovery { get; private set; }

    /// <summary>Repositories of the discovery row (smaller by default with <c>--quick</c>).</summary>
    public int DiscoveryRepositories => _discoveryRepositories ?? (Quick ? 2_000 : 20_000);

    /// <summary>The discovery row's server build, when not the one built here.</summary>
    public string? DiscoveryServerDll { get; private set; }

    /// <summary>
    /// Whether this is the full run (no <c>--only</c>): every part, the import and re-signer rows included, in one report.
    /// </summary>
    public bool FullRun { get; private set; } = true;

    /// <summary>How many times in a row the GET rows at 64 connections are measured (issue 19, target 2).</summary>
    public int ReadRuns { get; private set; } = 3;

    /// <summary>Publishes of the growth row, per server.</summary>
    public int GrowthPublishes { get; private set; } = 10_000;

    /// <summary>The growth row samples memory every this many publishes.</summary>
    public int GrowthSampleEvery { get; private set; } = 1_000;

    /// <summary>Targets in the growth repository's first targets file.</summary>
    public int GrowthInitialTargets { get; private set; } = 1_500;

    /// <summary>Bytes of custom data per target of the growth repository.</summary>
    public int GrowthTargetPadding { get; private set; }

    /// <summary>Whether the growth row runs on notary-server too (not with <c>--growth-no-reference</c>).</summary>
    public bool GrowthOnReference { get; private set; } = true;

    /// <summary>Seconds the servers idle after the growth row before the last RSS sample.</summary>
    public double GrowthIdleSeconds { get; private set; } = 30;

    /// <summary>Whether the start-up rows run (issue 19 target 6; a full run and <c>--only startup</c>).</summary>
    public bool RunStartup { get; private set; } = true;

    /// <summary>Whether only the start-up rows run (<c>--only startup</c>).</summary>
    public bool OnlyStartup { get; private set; }

    /// <summary>Starts of the published server per start-up case.</summary>
    public int StartupRuns { get; private set; } = 5;

    /// <summary>Extra MSBuild properties (<c>Name=Value</c>) of the start-up row's <c>dotnet publish</c>.</summary>
    public List<string> StartupPublishProperties { get; } = [];

    /// <summary>An existing publish output for the start-up row (no publish).</summary>
    public string? StartupPublished { get; private set; }

    /// <summary>Whether only the big-repository rows run (<c>--only bigrepo</c>); they also run with the publish rows.</summary>
    public bool BigRepoOnly { get; private set; }

    /// <summary>Targets in the big repository of the big-repository rows.</summary>
    public int BigRepoTargets { get; private set; } = 2_000;

    public string? ResultsDirectory { get; private set; }

    public bool ShowHelp { get; private set; }

    /// <summary>Most updates prepared per repository for the one-publisher run (the run stops at the time limit).</summary>
    public int SinglePublisherUpdates => Quick ? 600 : 3000;

    /// <summary>Most updates prepared per warm-up repository (two publish at once before the publish rows, unrecorded).</summary>
    public int WarmupPublisherUpdates => Quick ? 300 : 1000;

    /// <summary>Most updates prepared per repository for the parallel run.</summary>
    public int ParallelPublisherUpdates => Quick ? 150 : 600;

    private int? _importRows;
    private int? _resignRepositories;
    private int? _discoveryRepositories;

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        double? duration = null, warmup = null, publish = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--quick":
                    options.Quick = true;
                    break;
                case "--duration":
                    duration = Seconds(Next());
                    break;
                case "--warmup":
                    warmup = Seconds(Next());
                    break;
                case "--publish-duration":
                    publish = Seconds(Next());
                    break;
                case "--connections":
                    options.Connections = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(c => Positive(c, "--connections"))];
                    break;
                case "--threads":
                    options.Threads = Positive(Next(), "--threads");
                    break;
                case "--parallel-repos":
                    options.ParallelRepositories = Positive(Next(), "--parallel-repos");
                    break;
                case "--read-runs":
                    options.ReadRuns = Positive(Next(), "--read-runs");
                    break;
                case "--bigrepo-targets":
                    options.BigRepoTargets = Positive(Next(), "--bigrepo-targets");
                    break;
                case "--only":
                    var only = Next();
                    options.FullRun = false;
                    options.OnlyTrustQueries = only == "verify";
                    options.RunScale = only == "scale";
                    options.BigRepoOnly = only == "bigrepo";
                    options.RunDiscovery = only == "discovery";
                    (options.RunReads, options.RunPublishes, options.RunUploads, options.RunGrowth, options.RunImport, options.RunResign) = only switch
                    {
                        "reads" or "verify" => (true, false, false, false, false, false),
                        "publishes" => (false, true, false, false, false, false),
                        "uploads" => (false, false, true, false, false, false),
                        "growth" => (false, false, false, true, false, false),
                        "import" => (false, false, false, false, true, false),
                        "resign" => (false, false, false, false, false, true),
                        "scale" or "startup" or "bigrepo" or "discovery" => (false, false, false, false, false, false),
                        var part => throw new ArgumentException($"--only: '{part}' is not 'reads', 'verify', 'publishes', 'uploads', 'growth', 'import', 'resign', 'scale', 'startup', 'bigrepo' or 'discovery'"),
                    };
                    (options.RunStartup, options.OnlyStartup) = (only == "startup", only == "startup");
                    break;
                case "--scale-repos":
                    options.ScaleRepositories = Positive(Next(), "--scale-repos");
                    break;
                case "--scale-files":
                    options.ScaleFiles = Positive(Next(), "--scale-files");
                    break;
                case "--scale-small-repos":
                    options.ScaleSmallRepositories = Positive(Next(), "--scale-small-repos");
                    break;
                case "--import-rows":
                    options._importRows = Positive(Next(), "--import-rows");
                    break;
                case "--resign-repos":
                    options._resignRepositories = Positive(Next(), "--resign-repos");
                    break;
                case "--discovery-repos":
                    options._discoveryRepositories = Positive(Next(), "--discovery-repos");
                    break;
                case "--discovery-server-dll":
                    options.DiscoveryServerDll = Path.GetFullPath(Next());
                    break;
                case "--growth-publishes":
                    options.GrowthPublishes = NonNegative(Next(), "--growth-publishes");
                    break;
                case "--growth-sample-every":
                    options.GrowthSampleEvery = Positive(Next(), "--growth-sample-every");
                    break;
                case "--growth-initial-targets":
                    options.GrowthInitialTargets = NonNegative(Next(), "--growth-initial-targets");
                    break;
                case "--growth-target-padding":
                    options.GrowthTargetPadding = NonNegative(Next(), "--growth-target-padding");
                    break;
                case "--growth-no-reference":
                    options.GrowthOnReference = false;
                    break;
                case "--growth-idle":
                    options.GrowthIdleSeconds = Seconds(Next());
                    break;
                case "--startup-runs":
                    options.StartupRuns = Positive(Next(), "--startup-runs");
                    break;
                case "--startup-publish-property":
                    options.StartupPublishProperties.Add(Next() is var property && property.Contains('=', StringComparison.Ordinal) ? property : throw new ArgumentException($"--startup-publish-property: '{property}' is not Name=Value"));
                    break;
                case "--startup-published":
                    options.StartupPublished = Path.GetFullPath(Next());
                    break;
                case "--results":
                    options.ResultsDirectory = Path.GetFullPath(Next());
                    break;
                case "--help" or "-h":
                    options.ShowHelp = true;
                    break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        if (options.Quick)
        {
            (options.DurationSeconds, options.WarmupSeconds, options.PublishSeconds) = (2, 1, 3);
        }

        options.DurationSeconds = duration ?? options.DurationSeconds;
        options.WarmupSeconds = warmup ?? options.WarmupSeconds;
        options.PublishSeconds = publish ?? options.PublishSeconds;
        return options;
    }

    private static double Seconds(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? value
            : throw new ArgumentException($"'{text}' is not a number of seconds");

    private static int NonNegative(string text, string option) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? value
            : throw new ArgumentException($"{option}: '{text}' is not a non-negative integer");

    private static int Positive(string text, string option) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new ArgumentException($"{option}: '{text}' is not a positive integer");
}
