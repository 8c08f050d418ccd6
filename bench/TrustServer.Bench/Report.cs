using System.Globalization;
using System.Text;

namespace TrustServer.Bench;

/// <summary>A GET measured on each server: how to build its path, and whether it is a 200 row (C0 measured too).</summary>
internal sealed record ReadRow(string Name, bool CurrentMetadata, bool ExpectSuccess, Func<SeededRepository, string> Path, string SizeRole);

/// <summary>The wrk results of one row at one connection count.</summary>
internal sealed class ReadCell(ReadRow row, int connections)
{
    public ReadRow Row { get; } = row;

    public int Connections { get; } = connections;

    /// <summary>1, or which of the consecutive runs at 64 connections (<c>--read-runs</c>).</summary>
    public int Run { get; init; } = 1;

    public WrkResult? Control { get; set; }

    public WrkResult? TrustServer { get; set; }

    public WrkResult? Reference { get; set; }
}

/// <summary>Memory of one process at the two sampling points.</summary>
/// <summary>
/// Memory of one process: after the GET load, after the publish rows (GET and publish load: what the RSS target is
/// judged on), and at the end (after the big-repository publishes and the large uploads, which grow the heap by
/// design), with the peak.
/// </summary>
internal sealed record MemorySample(string Process, int Pid, long? AfterReadsKiB, long? AfterPublishesKiB, long? AtEndKiB, long? PeakKiB);

/// <summary>One target, checked against this run's numbers.</summary>
internal sealed record TargetCheck(string Target, string Measured, bool? Pass)
{
    public string Verdict => Pass switch { true => "PASS", false => "FAIL", null => "n/a" };
}

/// <summary>Everything a run measured, rendered as the console/markdown table and checked against the targets.</summary>
internal sealed partial class Report
{
    public required string StartedAt { get; init; }

    public required string Machine { get; init; }

    public required BenchOptions Options { get; init; }

    public List<ReadCell> Reads { get; } = [];

    public List<(string Name, PublishResult? TrustServer, PublishResult? Reference)> Publishes { get; } = [];

    public List<MemorySample> Memory { get; } = [];

    public List<LargeUploadRow> LargeUploads { get; } = [];

    public List<GrowthRun> Growth { get; } = [];

    public List<StartupCase> Startup { get; } = [];

    public List<BigRepoRow> BigRepo { get; } = [];

    public List<string> Notes { get; } = [];

    /// <summary>The data-at-scale row (<c>--only scale</c>), when it ran.</summary>
    public ScaleResult? Scale { get; set; }

    /// <summary>Issue 19's checks, then those of earlier issues that still hold (labelled with their issue).</summary>
    public IReadOnlyList<TargetCheck> CheckTargets()
    {
        var checks = new List<TargetCheck> { OnePublisherCheck(), ReadRunsCheck(), RssCheck() };
        checks.AddRange(MoreChecks);
        if (Scale is not null)
        {
            checks.AddRange(Scale.Checks());
        }

        checks.AddRange(BigRepoBench.Checks(BigRepo));
        checks.AddRange(StartupBench.TargetChecks(Startup));
        checks.Add(RowsCheck());

        var current = Reads.Where(c => c.Row.CurrentMetadata).ToList();
        checks.Add(MinRatio("issue 7: >= 70 % of C0 req/s, current-metadata GETs", current, c => Ratio(c.TrustServer, c.Control), 0.70, "x C0"));
        checks.Add(MinRatio("issue 7: >= 20x notary-server req/s, current-metadata GETs", current, c => Ratio(c.TrustServer, c.Reference), 20, "x ref"));
        checks.Add(MinRatio("issue 7: >= 70 % of C0 req/s, GET by checksum", Reads.Where(c => c.Row.Name.Contains("checksum", StringComparison.Ordinal)).ToList(), c => Ratio(c.TrustServer, c.Control), 0.70, "x C0"));
        var parallel = $"{Options.ParallelRepositories} repositories in parallel";
        foreach (var (name, ours, reference) in Publishes.Where(p => p.Name == parallel))
        {
            var ratio = PublishRatio(ours, reference);
            checks.Add(new TargetCheck($"issue 7: >= 5x notary-server publishes/s, {name}", ratio is null ? "not measured" : $"{ratio:F2}x ref", ratio is null ? null : ratio >= 5));
        }

        foreach (var row in LargeUploads.Where(r => r.TrustServer is not null))
        {
            var perUpload = row.TrustServer!.PeakGrowthKiB * 1024.0 / (row.UploadBytes * row.AtOnce);
            checks.Add(new TargetCheck($"issue 12: RSS growth <= 3x the upload, {row.Name}", $"{perUpload:F2}x", perUpload <= 3));
            var time = row.Reference is null ? (double?)null : row.TrustServer.Seconds / row.Reference.Seconds;
            checks.Add(new TargetCheck($"issue 12: time <= 2x notary-server, {row.Name}", time is null ? "not measured" : $"{time:F2}x ref", time is null ? null : time <= 2));
        }

        if (Growth.FirstOrDefault(g => g.Server == "TrustServer") is { } growth)
        {
            var first = growth.At(Options.GrowthSampleEvery);
            var last = growth.Samples[^1];
            var ratio = first?.RssKiB is { } a && last.RssKiB is { } b && a > 0 && last.Publishes > first.Publishes ? (double)b / a : (double?)null;
            checks.Add(new TargetCheck(
                $"issue 12: server RSS after {last.Publishes:N0} growing publishes <= 1.3x RSS after {Options.GrowthSampleEvery:N0}",
                ratio is null ? "not measured" : $"{Mib(last.RssKiB)} vs {Mib(first!.RssKiB)} MiB = {ratio:F2}x" + (growth.Failed > 0 ? $"; {growth.Failed} publishes failed" : string.Empty),
                ratio is null ? null : ratio <= 1.3 && growth.Failed == 0));
        }

        return checks;
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## TrustServer benchmark, {StartedAt}");
        text.AppendLine();
        text.AppendLine(Machine);
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"wrk: {Options.Threads} threads, {Options.DurationSeconds:0.#} s per measurement after {Options.WarmupSeconds:0.#} s warm-up per server and URL; keep-alive HTTPS (TLS 1.2/1.3) on 127.0.0.1.");
        text.AppendLine("**Client and servers share the same cores** (wrk, both servers, both signers, C0 and PostgreSQL on one machine): absolute numbers are lower than on a dedicated server; compare ratios.");
        text.AppendLine(RunDescription());
        text.AppendLine();
        text.AppendLine("### GET (req/s, latency in ms)");
        text.AppendLine();
        text.AppendLine("| GET | conns | C0 req/s | TrustServer req/s | p50 | p99 | notary-server req/s | p50 | p99 | TS/C0 | TS/ref |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var cell in Reads)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {cell.Row.Name} | {ConnectionsLabel(cell)} | {Rps(cell.Control, cell.Row)} | {Rps(cell.TrustServer, cell.Row)} | {Ms(cell.TrustServer?.P50Ms)} | {Ms(cell.TrustServer?.P99Ms)} "
                + $"| {Rps(cell.Reference, cell.Row)} | {Ms(cell.Reference?.P50Ms)} | {Ms(cell.Reference?.P99Ms)} "
                + $"| {Format(Ratio(cell.TrustServer, cell.Control), "P0")} | {Format(Ratio(cell.TrustServer, cell.Reference), "0.0'x'")} |");
        }

        AppendReadRuns(text);
        AppendTrustQueries(text);
        text.AppendLine();
        text.AppendLine("### Publishes (pre-signed targets + snapshot uploads, consecutive versions; latency in ms)");
        text.AppendLine();
        text.AppendLine("| publishers | TrustServer publishes/s | p50 | p99 | notary-server publishes/s | p50 | p99 | TS/ref |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, ours, reference) in Publishes)
        {
            var ratio = ours is null || reference is null || reference.PublishesPerSecond <= 0 ? (double?)null : ours.PublishesPerSecond / reference.PublishesPerSecond;
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {Pub(ours)} | {Ms(ours?.P50Ms)} | {Ms(ours?.P99Ms)} | {Pub(reference)} | {Ms(reference?.P50Ms)} | {Ms(reference?.P99Ms)} | {Format(ratio, "0.00'x'")} |");
        }

        AppendPublishPhases(text);
        BigRepoBench.AppendMarkdown(text, BigRepo);

        if (LargeUploads.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("### Large uploads that fail validation (targets.json to the seeded repository; s, and server RSS growth in MiB: peak / still there 2 s later)");
            text.AppendLine();
            text.AppendLine("| upload | TrustServer s | peak | after 2 s | answer | notary-server s | peak | after 2 s | answer |");
            text.AppendLine("|---|---:|---:|---:|---|---:|---:|---:|---|");
            foreach (var row in LargeUploads)
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {row.Name} | {Upload(row.TrustServer)} | {Upload(row.Reference)} |");
            }
        }

        if (Growth.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("### Memory growth: one publisher, one repository, one more target per publish (MiB)");
            text.AppendLine();
            text.AppendLine("| server | publishes | targets.json KiB | seconds | RSS | managed heap |");
            text.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var run in Growth)
            {
                foreach (var sample in run.Samples)
                {
                    text.AppendLine(CultureInfo.InvariantCulture,
                        $"| {run.Server} | {sample.Publishes:N0} | {sample.TargetsBytes / 1024.0:0} | {sample.Seconds:0} | {Mib(sample.RssKiB)} | {(sample.ManagedBytes is { } m ? (m / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) : "–")} |");
                }

                if (run.IdleRssKiB is not null)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"| {run.Server} | after {run.IdleSeconds:0} s idle | | | {Mib(run.IdleRssKiB)} | |");
                }

                if (run.Failed > 0)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"| {run.Server} | {run.Failed} failed: {run.FirstError?.Replace('|', '/')} | | | | |");
                }
            }
        }

        AppendOwnStackRows(text);
        AppendMoreSections(text);
        if (Scale is not null)
        {
            text.Append(Scale.ToMarkdown());
        }
        StartupBench.AppendMarkdown(text, Startup);

        text.AppendLine();
        text.AppendLine("### Memory (VmRSS from /proc/<pid>/status, MiB)");
        text.AppendLine();
        text.AppendLine("| process | pid | after GET load | after publish rows | at the end (big-repository publishes, large uploads) | peak (VmHWM) |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var sample in Memory)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {sample.Process} | {sample.Pid} | {Mib(sample.AfterReadsKiB)} | {Mib(sample.AfterPublishesKiB)} | {Mib(sample.AtEndKiB)} | {Mib(sample.PeakKiB)} |");
        }

        text.AppendLine();
        text.AppendLine("### CPU during each measurement (% of one core; the machine has " + Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) + " cores)");
        text.AppendLine();
        text.AppendLine("srv = the server under test, sig = its signer, pg = our PostgreSQL, load = wrk / the publish client, other = processes outside the benchmark.");
        text.AppendLine();
        text.AppendLine("| measurement | server | srv | sig | pg | load | other | idle |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, server, cpu) in CpuRows())
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {server} | {cpu.Target:0} | {cpu.Signer:0} | {cpu.Postgres:0} | {cpu.LoadGenerator:0} | {cpu.Outside:0} | {cpu.Idle:0} |");
        }

        text.AppendLine();
        text.AppendLine("### Targets (issue 19; then the checks of earlier issues that still hold) — measurement only, never fails the run");
        text.AppendLine();
        text.AppendLine("| target | measured | verdict |");
        text.AppendLine("|---|---|---|");
        foreach (var check in CheckTargets())
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {check.Target} | {check.Measured} | {check.Verdict} |");
        }

        if (Notes.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("### Notes");
            text.AppendLine();
            foreach (var note in Notes)
            {
                text.AppendLine("- " + note);
            }
        }

        return text.ToString();
    }

    /// <summary>Every measurement with its CPU split.</summary>
    public IEnumerable<(string Measurement, string Server, CpuShare Cpu)> CpuRows()
    {
        foreach (var cell in Reads)
        {
            foreach (var (server, result) in new[] { ("C0", cell.Control), ("TrustServer", cell.TrustServer), ("notary-server", cell.Reference) })
            {
                if (result?.Cpu is { } cpu)
                {
                    yield return ($"GET {cell.Row.Name} c={ConnectionsLabel(cell)}", server, cpu);
                }
            }
        }

        foreach (var query in TrustQueries.Where(q => q.Result.Cpu is not null))
        {
            yield return ($"{query.Name} c={query.Connections}", "TrustServer", query.Result.Cpu!);
        }

        foreach (var (name, ours, reference) in Publishes)
        {
            foreach (var (server, result) in new[] { ("TrustServer", ours), ("notary-server", reference) })
            {
                if (result?.Cpu is { } cpu)
                {
                    yield return ($"publish, {name}", server, cpu);
                }
            }
        }

        foreach (var row in BigRepo)
        {
            foreach (var (server, result) in new[] { ("TrustServer", row.TrustServer), ("notary-server", row.Reference) })
            {
                if (result?.Cpu is { } cpu)
                {
                    yield return ($"bigrepo, {row.Name}", server, cpu);
                }
            }
        }
    }

    public object ToJson() => new
    {
        startedAt = StartedAt,
        machine = Machine,
        options = new
        {
            Options.DurationSeconds,
            Options.WarmupSeconds,
            Options.PublishSeconds,
            Options.Connections,
            Options.Threads,
            Options.ParallelRepositories,
            Options.Quick,
        },
        reads = Reads.Select(c => new { row = c.Row.Name, c.Connections, c.Run, c0 = c.Control, trustServer = c.TrustServer, notaryServer = c.Reference }),
        publishes = Publishes.Select(p => new { name = p.Name, trustServer = p.TrustServer, notaryServer = p.Reference }),
        largeUploads = LargeUploads,
        memory = Memory,
        growth = Growth,
        issue19 = Issue19Json(),
        scale = Scale,
        startup = Startup.Select(c => new { c.Name, medianMs = c.MedianWallMs, maxMs = c.MaxWallMs, medianCpuMs = c.MedianCpuMs, medianRssKiB = c.MedianRssKiB, maxRssKiB = c.MaxRssKiB, runs = c.Runs.Select(r => new { r.WallMs, r.CpuMs, r.RssKiB, r.Phases }) }),
        bigRepo = BigRepo,
        targets = CheckTargets().Select(c => new { c.Target, c.Measured, verdict = c.Verdict }),
        notes = Notes,
    };

    private static TargetCheck MinRatio(string target, List<ReadCell> cells, Func<ReadCell, double?> ratio, double threshold, string unit)
    {
        var measured = cells.Select(c => (Cell: c, Ratio: ratio(c))).Where(r => r.Ratio is not null).ToList();
        if (measured.Count == 0)
        {
            return new TargetCheck(target, "not measured", null);
        }

        var worst = measured.MinBy(r => r.Ratio!.Value);
        var valid = cells.All(c => Valid(c.TrustServer, c.Row) && Valid(c.Control, c.Row) && Valid(c.Reference, c.Row));
        return new TargetCheck(
            target,
            $"worst {worst.Ratio!.Value.ToString("0.00", CultureInfo.InvariantCulture)}{unit} ({worst.Cell.Row.Name}, {worst.Cell.Connections} conns{(worst.Cell.Run > 1 ? $", run {worst.Cell.Run}" : string.Empty)})" + (valid ? string.Empty : "; some responses were errors"),
            valid && measured.All(r => r.Ratio >= threshold));
    }

    private static double? Ratio(WrkResult? numerator, WrkResult? denominator) =>
        numerator is null || denominator is null || denominator.RequestsPerSecond <= 0 ? null : numerator.RequestsPerSecond / denominator.RequestsPerSecond;

    // A 200 row with error responses (or a 404 row with successes) is not a valid measurement.
    private static bool Valid(WrkResult? result, ReadRow row) =>
        result is null || (row.ExpectSuccess ? result.NonSuccessResponses == 0 : result.NonSuccessResponses == result.Requests) && result.SocketErrors == 0;

    private static string Rps(WrkResult? result, ReadRow row) =>
        result is null ? "–" : result.RequestsPerSecond.ToString("N0", CultureInfo.InvariantCulture) + (Valid(result, row) ? string.Empty : " (!)");

    private static string Pub(PublishResult? result) =>
        result is null ? "–" : result.PublishesPerSecond.ToString("N1", CultureInfo.InvariantCulture) + (result.Failed > 0 ? $" ({result.Failed} failed)" : string.Empty);

    private static string Ms(double? value) =>
        value is null || double.IsNaN(value.Value) ? "–" : value.Value.ToString(value < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    private static string Mib(long? kib) => kib is null ? "–" : (kib.Value / 1024.0).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Format(double? value, string format) => value is null ? "–" : value.Value.ToString(format, CultureInfo.InvariantCulture);

    private static string Upload(LargeUploadResult? result) => result is null
        ? "– | – | – | –"
        : string.Create(CultureInfo.InvariantCulture, $"{result.Seconds:0.00} | {result.PeakGrowthKiB / 1024} | {result.RetainedGrowthKiB / 1024} | {result.Answers}");
}
