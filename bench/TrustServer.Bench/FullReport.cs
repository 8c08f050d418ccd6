using System.Globalization;
using System.Text;

namespace TrustServer.Bench;

/// <summary>One trust query measurement (issue 16; TrustServer only: notary-server has no such API).</summary>
internal sealed record TrustQueryRow(string Name, int Connections, WrkResult Result);

/// <summary>Mean milliseconds per TrustServer publish phase during one publish row (trustserver_publish_phase_seconds).</summary>
internal sealed record PublishPhaseRow(string Name, string Phases);

/// <summary>
/// A section another part of the bench adds to the report (a table, a list), rendered in order after the built-in
/// tables; <paramref name="Data"/> goes into summary.json under <c>more</c>.
/// </summary>
internal sealed record ReportSection(string Title, string Markdown, object? Data = null);

/// <summary>
/// The parts of the report of issue 19: the rows of the other issues in the same report (trust queries, publish
/// phases, import, re-signer), the GET rows at 64 connections run by run, and the issue-19 targets table. Other
/// parts of the bench add their own checks to <see cref="MoreChecks"/> and their own tables to
/// <see cref="MoreSections"/>.
/// </summary>
internal sealed partial class Report
{
    private const int Issue19ReadRuns = 3;

    public List<TrustQueryRow> TrustQueries { get; } = [];

    public List<PublishPhaseRow> PublishPhases { get; } = [];

    public ImportResult? Import { get; set; }

    public ResignResult? Resign { get; set; }

    /// <summary>
    /// Target checks added by other parts of the bench (issue 19: big repositories, data at scale, start-up), listed
    /// in the order added, after the built-in issue-19 checks and before the earlier issues' ones.
    /// </summary>
    public List<TargetCheck> MoreChecks { get; } = [];

    /// <summary>Tables added by other parts of the bench, in the order added.</summary>
    public List<ReportSection> MoreSections { get; } = [];

    /// <summary>Wall time of the whole run, from the start of the tool to the report.</summary>
    public TimeSpan? Elapsed { get; set; }

    /// <summary>"64" or "64, run 2 of 3" when the row is measured more than once.</summary>
    private string ConnectionsLabel(ReadCell cell) =>
        Options.ReadRuns > 1 && cell.Connections == FullRun.RepeatedConnections
            ? string.Create(CultureInfo.InvariantCulture, $"{cell.Connections}, run {cell.Run} of {Options.ReadRuns}")
            : cell.Connections.ToString(CultureInfo.InvariantCulture);

    private string RunDescription() =>
        (Elapsed is { } elapsed ? string.Create(CultureInfo.InvariantCulture, $"The run took {(int)elapsed.TotalMinutes} min {elapsed.Seconds:00} s. ") : string.Empty)
        + (Options.FullRun ? "Full run (every part). " : string.Empty)
        + (Options.RunReads && !Options.OnlyTrustQueries && Options.ReadRuns > 1 ? string.Create(CultureInfo.InvariantCulture, $"GET rows at {FullRun.RepeatedConnections} connections measured {Options.ReadRuns} times in a row, each run interleaved with C0 and notary-server.") : string.Empty);

    // After the GET table: TrustServer's p99 at 64 connections, one column per run (issue 19, target 2).
    private void AppendReadRuns(StringBuilder text)
    {
        var cells = Reads.Where(c => c.Connections == FullRun.RepeatedConnections && c.TrustServer is not null).ToList();
        var runs = cells.Select(c => c.Run).DefaultIfEmpty().Max();
        if (runs < 2)
        {
            return;
        }

        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"### TrustServer GET p99 at {FullRun.RepeatedConnections} connections, run by run (ms)");
        text.AppendLine();
        text.AppendLine("| GET | " + string.Join(" | ", Enumerable.Range(1, runs).Select(r => $"run {r}")) + " |");
        text.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", runs)));
        foreach (var row in cells.GroupBy(c => c.Row.Name))
        {
            text.AppendLine("| " + row.Key + " | " + string.Join(" | ", Enumerable.Range(1, runs).Select(r => Ms(row.FirstOrDefault(c => c.Run == r)?.TrustServer?.P99Ms))) + " |");
        }
    }

    private void AppendTrustQueries(StringBuilder text)
    {
        if (TrustQueries.Count == 0)
        {
            return;
        }

        text.AppendLine();
        text.AppendLine("### Trust queries (issue 16; TrustServer only: notary-server has no equivalent)");
        text.AppendLine();
        text.AppendLine("| query | conns | req/s | p50 | p99 | non-2xx |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, connections, result) in TrustQueries)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {connections} | {result.RequestsPerSecond:N0} | {Ms(result.P50Ms)} | {Ms(result.P99Ms)} | {result.NonSuccessResponses + result.SocketErrors} |");
        }
    }

    private void AppendPublishPhases(StringBuilder text)
    {
        if (PublishPhases.Count == 0)
        {
            return;
        }

        text.AppendLine();
        text.AppendLine("Where a TrustServer publish's time goes (`trustserver_publish_phase_seconds`, mean ms per publish):");
        text.AppendLine();
        text.AppendLine("| publishers | phases |");
        text.AppendLine("|---|---|");
        foreach (var (name, phases) in PublishPhases)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {phases} |");
        }
    }

    // The rows measured on their own processes (TrustServer only: notary-server has neither an importer nor a re-signer).
    private void AppendOwnStackRows(StringBuilder text)
    {
        if (Import is null && Resign is null)
        {
            return;
        }

        text.AppendLine();
        text.AppendLine("### Import and re-signing (TrustServer only: notary-server has no equivalent; own processes and databases on the same PostgreSQL)");
        text.AppendLine();
        text.AppendLine("| row | size | seconds | rate |");
        text.AppendLine("|---|---|---:|---:|");
        if (Import is { } import)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| issue 14: `import notary-db`, first run | {import.Rows:N0} rows ({import.Written:N0} written) of {import.Repositories:N0} repositories | {import.Seconds:0.0} | {import.Rows / import.Seconds:N0} rows/s |");
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| issue 14: `import notary-db`, re-run (nothing new) | {import.RerunRows:N0} rows | {import.RerunSeconds:0.0} | {import.RerunRows / import.RerunSeconds:N0} rows/s |");
        }

        if (Resign is { } resign)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| issue 15: background re-signer, every repository due at once | {resign.Repositories:N0} repositories | {resign.Seconds:0.00} (first to last commit; {resign.FromStartSeconds:0.0} from the process start) | {resign.RepositoriesPerSecond:N0} repositories/s |");
        }
    }

    private void AppendMoreSections(StringBuilder text)
    {
        foreach (var section in MoreSections)
        {
            text.AppendLine();
            text.AppendLine("### " + section.Title);
            text.AppendLine();
            text.AppendLine(section.Markdown.TrimEnd());
        }
    }

    // summary.json: what issue 19 added to the report (the rows of other issues, the read runs, the run's wall time).
    private object Issue19Json() => new
    {
        elapsedSeconds = Elapsed?.TotalSeconds,
        Options.FullRun,
        Options.ReadRuns,
        Options.ImportRows,
        Options.ResignRepositories,
        trustQueries = TrustQueries,
        publishPhases = PublishPhases,
        import = Import,
        resign = Resign,
        more = MoreSections.Select(s => new { s.Title, s.Data }),
    };

    // Issue 19, target 1.
    private TargetCheck OnePublisherCheck()
    {
        const string Target = "issue 19 (1): 1 publisher >= 3x notary-server publishes/s and p50 <= 4 ms";
        if (Publishes.FirstOrDefault(p => p.Name == "1 publisher") is not { TrustServer: { } ours, Reference: { } reference })
        {
            return new TargetCheck(Target, "not measured", null);
        }

        var ratio = PublishRatio(ours, reference);
        return new TargetCheck(
            Target,
            string.Create(CultureInfo.InvariantCulture, $"{Format(ratio, "0.00'x ref'")}, p50 {Ms(ours.P50Ms)} ms") + (ours.Failed > 0 ? $"; {ours.Failed} failed" : string.Empty),
            ratio is null ? null : ratio >= 3 && ours.P50Ms <= 4 && ours.Failed == 0);
    }

    // Issue 19, target 2: every GET row at 64 connections in each of (at least) three consecutive runs.
    private TargetCheck ReadRunsCheck()
    {
        var target = $"issue 19 (2): p99 <= 10 ms on every GET row at {FullRun.RepeatedConnections} connections, {Issue19ReadRuns} consecutive runs";
        var cells = Reads.Where(c => c.Connections == FullRun.RepeatedConnections && c.TrustServer is not null).ToList();
        if (cells.Count == 0)
        {
            return new TargetCheck(target, $"{FullRun.RepeatedConnections} connections not measured", null);
        }

        var runs = cells.GroupBy(c => c.Run).OrderBy(g => g.Key).Select(g => (Run: g.Key, Worst: g.MaxBy(c => c.TrustServer!.P99Ms)!)).ToList();
        var valid = cells.All(c => Valid(c.TrustServer, c.Row));
        var pass = valid && cells.All(c => c.TrustServer!.P99Ms <= 10);
        var measured = "worst p99 " + string.Join(", ", runs.Select(r => $"run {r.Run}: {Ms(r.Worst.TrustServer!.P99Ms)} ms ({r.Worst.Row.Name})"))
            + (valid ? string.Empty : "; some responses were errors")
            + (runs.Count < Issue19ReadRuns ? $"; only {runs.Count} run(s) (--read-runs)" : string.Empty);
        return new TargetCheck(target, measured, pass ? (runs.Count >= Issue19ReadRuns ? true : null) : false);
    }

    // Issue 19, target 3: RSS after the GET and publish load against the control endpoint's, both sampled at the same
    // moment (n/a when a part of that load did not run).
    private TargetCheck RssCheck()
    {
        const string Target = "issue 19 (3): server RSS after the load <= 1.5x C0's RSS (same run)";
        var server = Memory.FirstOrDefault(m => m.Process == "TrustServer server")?.AfterPublishesKiB;
        var control = Memory.FirstOrDefault(m => m.Process == "C0")?.AfterPublishesKiB;
        var ratio = server is null || control is null || control == 0 ? (double?)null : (double)server.Value / control.Value;
        var loaded = Reads.Count > 0 && Publishes.Count > 0;
        return new TargetCheck(
            Target,
            (ratio is null ? "not measured" : $"{Mib(server)} vs {Mib(control)} MiB = {ratio:F2}x C0") + (loaded ? string.Empty : " (not after the GET and publish load)"),
            ratio is null || !loaded ? null : ratio <= 1.5);
    }

    // Issue 19, target 7: the other issues' rows are in this report (a full run only).
    private TargetCheck RowsCheck()
    {
        const string Target = "issue 19 (7): every bench row in one report (GET, trust queries, publishes with phases, large uploads, import, re-signer)";
        if (!Options.FullRun)
        {
            return new TargetCheck(Target, "not a full run (--only)", null);
        }

        var missing = new (string Name, bool Present)[]
        {
            ("GET", Reads.Count > 0), ("trust queries", TrustQueries.Count > 0), ("publishes", Publishes.Count > 0),
            ("publish phases", PublishPhases.Count > 0), ("large uploads", LargeUploads.Count > 0), ("import", Import is not null), ("re-signer", Resign is not null),
        }.Where(r => !r.Present).Select(r => r.Name).ToList();
        return new TargetCheck(Target, missing.Count == 0 ? "all present" : "missing: " + string.Join(", ", missing), missing.Count == 0);
    }

    private static double? PublishRatio(PublishResult? ours, PublishResult? reference) =>
        ours is null || reference is null || reference.PublishesPerSecond <= 0 ? null : ours.PublishesPerSecond / reference.PublishesPerSecond;
}
