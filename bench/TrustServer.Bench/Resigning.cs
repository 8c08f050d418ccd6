using System.Diagnostics;
using System.Globalization;
using Npgsql;
using TrustServer.Testing;

namespace TrustServer.Bench;

/// <summary>The re-signer row: N renewals between the first and the last commit, and the time from the process start.</summary>
internal sealed record ResignResult(int Repositories, double Seconds, double RepositoriesPerSecond, double FromStartSeconds, double FirstRenewalAfterStartSeconds, string Summary);

/// <summary>
/// <c>--only resign</c>: the background re-signer's throughput (issue 15). TrustServer on PostgreSQL with the
/// embedded signer; N repositories are published with 1-minute timestamps while the re-signer is off, then the server
/// restarts with the default lifetimes (14 days, renewed when less than a third is left) and no rate bound, so every
/// repository is due at once. The figure is N renewals over the time between the first and the last renewal commit
/// (the database's <c>created_at</c>); the time from the process start (schedule loading included) is reported too.
/// </summary>
internal static class Resigning
{
    public static async Task<ResignResult> RunAsync(BenchOptions options, string resultsDirectory, string logDirectory, Action<string> progress, CancellationToken cancellationToken)
    {
        var postgres = await PostgresServer.GetAsync();
        var connectionString = postgres.GetConnectionString(await postgres.CreateDatabaseAsync("bench_resign", cancellationToken));
        var work = Path.Combine(resultsDirectory, "resign");
        Directory.CreateDirectory(work);
        var url = $"http://127.0.0.1:{TestPorts.GetFreeTcpPort()}";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        string[] Arguments(params string[] extra) =>
        [
            BenchStack.Dll("TrustServer.Server"), "--urls", url, "--Storage:Provider=Postgres", $"--ConnectionStrings:Metadata={connectionString}",
            "--Signing:Mode=Embedded", $"--Signing:PassphraseFile={Path.Combine(work, "passphrase")}", "--Serilog:MinimumLevel:Default=Warning",
            "--Serilog:MinimumLevel:Override:TrustServer.Server.Notary.BackgroundResigner=Information", .. extra,
        ];

        progress($"resign: publishing {options.ResignRepositories} repositories (1-minute timestamps, re-signer off)");
        using (var seeding = ChildProcess.Start("trustserver-seed", BenchStack.DotnetHost(), Arguments("--Signing:Lifetimes:Timestamp=00:01:00", "--Signing:Resigner:Enabled=false", "--RateLimits:KeyCreations=0"),
            Path.Combine(logDirectory, "trustserver-resign-seed.log"), work))
        {
            await seeding.WaitForSuccessAsync(http, new Uri(url + "/_notary_server/health"), cancellationToken);
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, options.ParallelRepositories).Select(async _ =>
            {
                for (var i = Interlocked.Increment(ref next); i < options.ResignRepositories; i = Interlocked.Increment(ref next))
                {
                    var repository = await Publishing.PrepareAsync(http, url, $"bench.example.com/resign/r{i:D6}", 0, cancellationToken);
                    await Publishing.InitializeAsync(http, url, [repository], cancellationToken);
                }
            }));
        }

        progress("resign: restarting with the default lifetimes and the re-signer on (no rate bound): every repository is due");
        var started = DateTime.UtcNow;
        var watch = Stopwatch.StartNew();
        using var server = ChildProcess.Start("trustserver-resign", BenchStack.DotnetHost(), Arguments("--Signing:Resigner:MaxPerSecond=100000", "--Signing:Resigner:BatchSize=1000"),
            Path.Combine(logDirectory, "trustserver-resign.log"), work);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        long renewed;
        while ((renewed = await ScalarAsync<long>(connection, "SELECT count(*) FROM tuf_files WHERE role = 'timestamp' AND version = 2", cancellationToken)) < options.ResignRepositories)
        {
            if (watch.Elapsed > TimeSpan.FromMinutes(10) || server.HasExited)
            {
                throw new InvalidOperationException($"resign: only {renewed} of {options.ResignRepositories} renewed after {watch.Elapsed} (log: {server.LogPath})");
            }

            await Task.Delay(200, cancellationToken);
        }

        var allDone = watch.Elapsed;
        await using var span = new NpgsqlCommand("SELECT min(created_at), max(created_at) FROM tuf_files WHERE role = 'timestamp' AND version = 2", connection);
        await using var reader = await span.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var first = reader.GetFieldValue<DateTime>(0);
        var last = reader.GetFieldValue<DateTime>(1);
        var seconds = (last - first).TotalSeconds;
        var rate = seconds > 0 ? (options.ResignRepositories - 1) / seconds : double.NaN;
        var summary = string.Create(
            CultureInfo.InvariantCulture,
            $"Re-signer throughput (PostgreSQL, embedded signer): {options.ResignRepositories} repositories due at once renewed in {seconds:F2} s "
            + $"between the first and the last commit = {rate:F0} repositories/s; {allDone.TotalSeconds:F1} s from the process start "
            + $"(start-up and schedule loading included; first renewal {(first - started).TotalSeconds:F1} s after start). PostgreSQL: {postgres.Description}.");
        progress(summary);
        return new ResignResult(options.ResignRepositories, seconds, rate, allDone.TotalSeconds, (first - started).TotalSeconds, summary);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
