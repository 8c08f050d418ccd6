using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using TrustServer.Testing;

namespace TrustServer.Bench;

/// <summary>
/// The import row: rows (files and changefeed records) of the first import and of the re-run that finds everything
/// in place, as the command reports them, and the wall seconds of each.
/// </summary>
internal sealed record ImportResult(long Rows, long Written, int Repositories, double Seconds, long RerunRows, double RerunSeconds);

/// <summary>
/// <c>--only import</c> (issue 14): the rate of <c>TrustServer.Server import notary-db</c> from a notary-server database
/// on PostgreSQL into TrustServer on the same PostgreSQL. The source is synthetic and made by SQL in seconds: notary's
/// schema, repositories of one root and <see cref="Versions"/> versions of targets, snapshot and timestamp (about 700
/// bytes of repetitive metadata each, valid JSON whose version is the row's, not signed), one changefeed record per
/// timestamp. The verification after the import therefore reports every synthetic repository as broken (their roots
/// have no certificates); it reads the current chain only, 4 of the ~100 rows of a repository. The figure is rows
/// (files and changefeed records) per second as the command reports it. In the full run the row goes into the report
/// (<see cref="MeasureAsync"/>); <c>--only import</c> prints it.
/// </summary>
internal static class ImportBench
{
    private const int Versions = 33;

    public static async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var result = await MeasureAsync(options.ImportRows, message => Console.Error.WriteLine("bench: " + message), cancellationToken);
        var postgres = await PostgresServer.GetAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"import: {result.Rows} rows ({result.Written} written) of {result.Repositories} repositories in {result.Seconds:0.0} s: {result.Rows / result.Seconds:0} rows/s (PostgreSQL {postgres.Description} to the same server, one transaction per repository)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"import re-run (nothing new): {result.RerunRows} rows in {result.RerunSeconds:0.0} s: {result.RerunRows / result.RerunSeconds:0} rows/s"));
        return 0;
    }

    /// <summary>Makes the synthetic source of at least <paramref name="sourceRows"/> rows, imports it, then imports it again.</summary>
    public static async Task<ImportResult> MeasureAsync(int sourceRows, Action<string> progress, CancellationToken cancellationToken)
    {
        var postgres = await PostgresServer.GetAsync();
        var sourceName = await postgres.CreateDatabaseAsync("bench_import_source", cancellationToken);
        var destinationName = await postgres.CreateDatabaseAsync("bench_import_destination", cancellationToken);
        using var directory = new TemporaryDirectory("bench-import");
        try
        {
            var source = postgres.GetConnectionString(sourceName);
            var destination = postgres.GetConnectionString(destinationName);
            var guns = (sourceRows + (3 * Versions) + 1 - 1) / ((3 * Versions) + 1);
            var clock = Stopwatch.StartNew();
            await NotaryServerSchema.CreateServerTablesAsync(NotaryDatabaseProvider.Postgres, source, cancellationToken);
            await GenerateAsync(source, guns, cancellationToken);
            progress(string.Create(CultureInfo.InvariantCulture, $"import: synthetic notary-server database: {guns} repositories made in {clock.Elapsed.TotalSeconds:0.0} s; importing"));

            async Task<JsonDocument> ImportAsync(string reportName)
            {
                var report = directory.Combine(reportName);
                var (exit, output) = await RunImportAsync(directory.Path,
                [
                    "import", "notary-db", "--from", source, "--provider", "postgres", "--report", report,
                    "--Storage:Provider=Postgres", $"--ConnectionStrings:Metadata={destination}", $"--ConnectionStrings:Keys={destination}",
                    $"--Signing:PassphraseFile={directory.Combine("passphrase")}",
                ], cancellationToken);
                return File.Exists(report)
                    ? JsonDocument.Parse(await File.ReadAllTextAsync(report, cancellationToken))
                    : throw new InvalidOperationException($"the import failed (exit {exit}):\n{output}");
            }

            using var first = await ImportAsync("report.json");
            var imported = first.RootElement.GetProperty("guns");
            var added = imported.EnumerateArray().Sum(g => g.GetProperty("filesAdded").GetInt64() + g.GetProperty("changesAdded").GetInt64());

            // The incremental re-run of a cut-over: everything is already there.
            using var rerun = await ImportAsync("rerun.json");
            return new ImportResult(
                first.RootElement.GetProperty("rows").GetInt64(), added, imported.GetArrayLength(), first.RootElement.GetProperty("seconds").GetDouble(),
                rerun.RootElement.GetProperty("rows").GetInt64(), rerun.RootElement.GetProperty("seconds").GetDouble());
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await postgres.DropDatabaseAsync(sourceName, CancellationToken.None);
            await postgres.DropDatabaseAsync(destinationName, CancellationToken.None);
        }
    }

    private static async Task GenerateAsync(string source, int guns, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(source);
        await connection.OpenAsync(cancellationToken);
        const string files = """
            INSERT INTO tuf_files (created_at, updated_at, gun, role, version, data, sha256)
            SELECT now(), now(), g.gun, r.role, v.v, d.data, encode(sha256(d.data), 'hex')
            FROM generate_series(1, @guns) AS gi(i)
            CROSS JOIN LATERAL (SELECT 'bench.example.com/import/r' || lpad(gi.i::text, 6, '0') AS gun) AS g
            CROSS JOIN (VALUES ('root', 1), ('targets', @versions), ('snapshot', @versions), ('timestamp', @versions)) AS r(role, versions)
            CROSS JOIN LATERAL generate_series(1, r.versions) AS v(v)
            CROSS JOIN LATERAL (SELECT convert_to('{"signed":{"_type":"' || initcap(r.role) || '","expires":"2030-01-01T00:00:00Z","gun":"' || g.gun
                || '","pad":"' || repeat('x', 600) || '","version":' || v.v || '},"signatures":[]}', 'UTF8') AS data) AS d
            ORDER BY g.gun, v.v, r.role
            """;
        await using (var command = new NpgsqlCommand(files, connection) { CommandTimeout = 0 })
        {
            command.Parameters.AddWithValue("guns", guns);
            command.Parameters.AddWithValue("versions", Versions);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        const string changes = """
            INSERT INTO changefeed (created_at, gun, version, sha256, category)
            SELECT created_at, gun, version, sha256, 'update' FROM tuf_files WHERE role = 'timestamp' ORDER BY id;
            ANALYZE tuf_files; ANALYZE changefeed;
            """;
        await using (var command = new NpgsqlCommand(changes, connection) { CommandTimeout = 0 })
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunImportAsync(string workingDirectory, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(BenchStack.DotnetHost()) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = false };
        start.ArgumentList.Add(BenchStack.Dll("TrustServer.Server"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Progress lines go to our stderr as they come; the summary is read from stdout.
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start TrustServer.Server");
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, output);
    }
}
