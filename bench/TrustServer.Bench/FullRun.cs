namespace TrustServer.Bench;

/// <summary>
/// What the full run (no <c>--only</c>) adds to the parts: the GET rows at 64 connections measured several times in a
/// row (issue 19, target 2), and the rows that run on processes of their own — the import (issue 14) and the
/// background re-signer (issue 15) — in the same report (issue 19, target 7).
/// </summary>
internal static class FullRun
{
    /// <summary>The connection count of issue 19's p99 target, measured <see cref="BenchOptions.ReadRuns"/> times.</summary>
    public const int RepeatedConnections = 64;

    /// <summary>The measurements of one GET row, in order: each connection count once, 64 connections n times in a row.</summary>
    public static IEnumerable<(int Connections, int Run)> ReadPlan(BenchOptions options) =>
        options.Connections.SelectMany(c => Enumerable.Range(1, c == RepeatedConnections ? options.ReadRuns : 1).Select(run => (c, run)));

    /// <summary>The raw wrk file of a measurement: <c>slug-c64.txt</c>, then <c>slug-c64-run2.txt</c> and so on.</summary>
    public static string RawFileName(string slug, int connections, int run) =>
        run > 1 ? $"{slug}-c{connections}-run{run}.txt" : $"{slug}-c{connections}.txt";

    /// <summary>
    /// The import row and the re-signer row, one after the other, after the stack's measurements and memory samples
    /// (the stack idles meanwhile). A row that fails is a note in the report, not the end of the run.
    /// </summary>
    public static async Task MeasureOwnProcessRowsAsync(
        BenchOptions options, Report report, string resultsDirectory, string logDirectory, Action<string> progress, CancellationToken cancellationToken)
    {
        progress($"import row: `import notary-db` of a synthetic notary-server database of {options.ImportRows:N0} tuf_files rows (--import-rows)");
        try
        {
            var import = await ImportBench.MeasureAsync(options.ImportRows, progress, cancellationToken);
            report.Import = import;
            progress($"import: {import.Rows:N0} rows of {import.Repositories:N0} repositories in {import.Seconds:0.0} s = {import.Rows / import.Seconds:N0} rows/s; re-run {import.RerunRows / import.RerunSeconds:N0} rows/s");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Failed("import", ex);
        }

        progress($"re-signer row: {options.ResignRepositories:N0} repositories due at once (--resign-repos)");
        try
        {
            report.Resign = await Resigning.RunAsync(options, resultsDirectory, logDirectory, progress, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Failed("re-signer", ex);
        }

        void Failed(string row, Exception ex)
        {
            var message = $"The {row} row failed: {ex.Message}";
            report.Notes.Add(message);
            progress(message);
        }
    }
}
