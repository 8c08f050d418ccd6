using System.Globalization;

namespace TrustServer.Bench;

/// <summary>Command-line settings of a benchmark run (<c>bench/run.sh --help</c>).</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        Usage: bench/run.sh [options]

          --quick                 short run (~1-2 min): 2 s per GET measurement, 3 s per publish measurement
          --duration <s>          seconds per wrk measurement (default 10)
          --warmup <s>            seconds of unrecorded load per server and URL before its first measurement, and twice that
                                  of unrecorded publishing per server before the publish rows (default 3)
          --publish-duration <s>  seconds per publish measurement, at most (default 10)
          --connections <list>    wrk connection counts, comma separated (default 16,64)
          --threads <n>           wrk threads (default 2: the machine has 2 cores)
          --parallel-repos <n>    repositories published in parallel (default 8)
          --only <part>           run one part only: reads (the GET rows, then the trust query rows), verify (the trust
                                  query rows only: GET /api/trust/v1/targets?name= and POST verify, TrustServer only),
                                  publishes, uploads (large invalid uploads), growth,
                                  import (`TrustServer.Server import notary-db` from a synthetic notary-server database)
                                  or resign (background re-signer throughput; TrustServer only, embedded signer)
          --only bigrepo          the big-repository rows only (issue 19 target 4; they also run with the publish rows): one
                                  publisher, consecutive updates to a 3-target and a --bigrepo-targets repository
          --bigrepo-targets <n>   targets in the big repository (default 2000, ~190 KB targets.json)
          --import-rows <n>       import row: tuf_files rows of the synthetic source, at least (default 100000)
          --resign-repos <n>      repositories due at once in the resign row (default 1000)
          --growth-publishes <n>  growth row: publishes to one repository whose targets.json grows by one target
                                  each (default 10000; 0 skips the row; it runs only with --only growth)
          --growth-sample-every <n>  memory sample every n publishes (default 1000)
          --growth-initial-targets <n>  targets in the repository before the first update (default 1500, ~150 KB)
          --growth-target-padding <n>   bytes of custom data per target (default 0: ~100 B per target)
          --growth-no-reference   growth row on TrustServer only (not on notary-server)
          --growth-idle <s>       seconds of idling after the growth row before the last RSS sample (default 30)
          --results <dir>         where to keep raw output and the summary (default bench/results/<timestamp>)
          --help                  this text

        Starts a private PostgreSQL, TrustServer (server + signer over mutual TLS), the reference notary-server +
        notary-signer, and a bare Kestrel control endpoint C0; seeds one repository in both servers with the real
        notary client; measures GETs with wrk and publishes with pre-signed uploads; prints one table. Targets are
        reported as PASS/FAIL but never change the exit code.
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

    /// <summary>tuf_files rows of the import row's synthetic source.</summary>
    public int ImportRows { get; private set; } = 100_000;

    /// <summary>Whether only the re-signer throughput row runs (<c>--only resign</c>).</summary>
    public bool RunResign { get; private set; }

    /// <summary>Repositories due at once in the re-signer row.</summary>
    public int ResignRepositories { get; private set; } = 1_000;

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
                case "--only" when i + 1 < args.Length && args[i + 1] == "bigrepo":
                    i++;
                    options.BigRepoOnly = true;
                    (options.RunReads, options.RunPublishes, options.RunUploads) = (false, false, false);
                    break;
                case "--bigrepo-targets":
                    options.BigRepoTargets = Positive(Next(), "--bigrepo-targets");
                    break;
                case "--only":
                    var only = Next();
                    options.OnlyTrustQueries = only == "verify";
                    (options.RunReads, options.RunPublishes, options.RunUploads, options.RunGrowth, options.RunImport, options.RunResign) = only switch
                    {
                        "reads" or "verify" => (true, false, false, false, false, false),
                        "publishes" => (false, true, false, false, false, false),
                        "uploads" => (false, false, true, false, false, false),
                        "growth" => (false, false, false, true, false, false),
                        "import" => (false, false, false, false, true, false),
                        "resign" => (false, false, false, false, false, true),
                        var part => throw new ArgumentException($"--only: '{part}' is not 'reads', 'verify', 'publishes', 'uploads', 'growth', 'import' or 'resign'"),
                    };
                    break;
                case "--import-rows":
                    options.ImportRows = Positive(Next(), "--import-rows");
                    break;
                case "--resign-repos":
                    options.ResignRepositories = Positive(Next(), "--resign-repos");
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
