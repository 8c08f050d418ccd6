using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using TrustServer.Testing;

namespace TrustServer.Bench;

/// <summary>
/// <c>--only discovery</c>: how long the background re-signer takes to discover N repositories (issue 19, the finding
/// of the data-at-scale row), TrustServer only, PostgreSQL, embedded signer. A template repository is published (its
/// timestamp signed by the server, nothing due for days), copied by SQL to N GUNs (<c>tuf_files</c> and
/// <c>changefeed</c> rows, as the scale row loads), <c>VACUUM ANALYZE</c>. Then:
/// <list type="bullet">
/// <item>start: a server starts with the re-signer on; the time from the process start until it logs "working on this
/// replica: N + 1 repositories scheduled" (event 1750), and the database transactions and server CPU time it took;</item>
/// <item>changefeed: while it runs, N more repositories are copied in by SQL; the time until
/// <c>trustserver_resigner_repositories_scheduled</c> shows 2N + 1 (builds without that gauge: until the database
/// has been quiet for 3 s), with its transactions and CPU time.</item>
/// </list>
/// <c>--discovery-server-dll</c> runs another build of TrustServer.Server for an A/B comparison.
/// </summary>
internal static partial class DiscoveryBench
{
    private const string TemplateGun = "bench.example.com/discovery/template";
    private const string GunPrefix = "bench.example.com/discovery/r";

    public static async Task<string> RunAsync(BenchOptions options, string resultsDirectory, string logDirectory, Action<string> progress, CancellationToken cancellationToken)
    {
        var n = options.DiscoveryRepositories;
        var serverDll = options.DiscoveryServerDll ?? BenchStack.Dll("TrustServer.Server");
        var postgres = await PostgresServer.GetAsync();
        var connectionString = postgres.GetConnectionString(await postgres.CreateDatabaseAsync("bench_discovery", cancellationToken));
        var work = Path.Combine(resultsDirectory, "discovery");
        Directory.CreateDirectory(work);
        var port = TestPorts.GetFreeTcpPort();
        var url = $"http://127.0.0.1:{port}";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        string[] Arguments(params string[] extra) =>
        [
            serverDll, "--urls", url, "--Storage:Provider=Postgres", $"--ConnectionStrings:Metadata={connectionString}",
            "--Signing:Mode=Embedded", $"--Signing:PassphraseFile={Path.Combine(work, "passphrase")}", "--Serilog:MinimumLevel:Default=Warning",
            "--Serilog:MinimumLevel:Override:TrustServer.Server.Notary.BackgroundResigner=Information", "--ExpiryAlerts:Enabled=false", .. extra,
        ];

        progress($"discovery: publishing the template {TemplateGun} (re-signer off)");
        using (var seeding = ChildProcess.Start("trustserver-discovery-seed", BenchStack.DotnetHost(), Arguments("--Signing:Resigner:Enabled=false"),
            Path.Combine(logDirectory, "trustserver-discovery-seed.log"), work))
        {
            await seeding.WaitForSuccessAsync(http, new Uri(url + "/_notary_server/health"), cancellationToken);
            var template = await Publishing.PrepareAsync(http, url, TemplateGun, 0, cancellationToken);
            await Publishing.InitializeAsync(http, url, [template], cancellationToken);
        }

        await using var data = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { CommandTimeout = 0 }.ConnectionString);
        var load = await CopyAsync(data, 1, n, cancellationToken);
        progress($"discovery: {n:N0} copies loaded in {load.TotalSeconds:0.0} s (with VACUUM ANALYZE)");

        // Start: from the process start to the "working" log line with every repository scheduled.
        var logPath = Path.Combine(logDirectory, "trustserver-discovery.log");
        var transactions = await TransactionsAsync(data, cancellationToken);
        var watch = Stopwatch.StartNew();
        using var server = ChildProcess.Start("trustserver-discovery", BenchStack.DotnetHost(), Arguments(), logPath, work);
        var scheduled = -1;
        while (scheduled < 0)
        {
            if (watch.Elapsed > TimeSpan.FromMinutes(30) || server.HasExited)
            {
                throw new InvalidOperationException($"discovery: the re-signer did not report working within {watch.Elapsed} (log: {logPath})");
            }

            await Task.Delay(100, cancellationToken);
            scheduled = WorkingCount(logPath);
        }

        var startSeconds = watch.Elapsed.TotalSeconds;
        var startCpu = CpuSeconds(server.Pid);
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken); // statistics reach pg_stat_database
        var startTransactions = await TransactionsAsync(data, cancellationToken) - transactions;
        progress(string.Create(CultureInfo.InvariantCulture, $"discovery: start: working with {scheduled:N0} scheduled {startSeconds:0.00} s after the process start ({startTransactions:N0} database transactions, server CPU {startCpu:0.0} s)"));

        // Changefeed: N more repositories arrive by SQL while the server runs.
        var gauge = await ScheduledGaugeAsync(http, url, cancellationToken);
        var cpuBefore = CpuSeconds(server.Pid);
        transactions = await TransactionsAsync(data, cancellationToken);
        watch.Restart();
        await CopyAsync(data, n + 1, 2 * n, cancellationToken, vacuum: false);
        var inserted = watch.Elapsed.TotalSeconds;
        double feedSeconds;
        if (gauge is not null)
        {
            while (await ScheduledGaugeAsync(http, url, cancellationToken) is { } now && now < 2 * n + 1)
            {
                if (watch.Elapsed > TimeSpan.FromMinutes(30) || server.HasExited)
                {
                    throw new InvalidOperationException($"discovery: {now} of {2 * n + 1} scheduled after {watch.Elapsed} (log: {logPath})");
                }

                await Task.Delay(100, cancellationToken);
            }

            feedSeconds = watch.Elapsed.TotalSeconds;
        }
        else
        {
            // No gauge in this build: until the database has been quiet (fewer than 10 transactions) for 3 s.
            var quietSince = watch.Elapsed;
            var last = await TransactionsAsync(data, cancellationToken);
            while (watch.Elapsed - quietSince < TimeSpan.FromSeconds(3))
            {
                await Task.Delay(500, cancellationToken);
                var now = await TransactionsAsync(data, cancellationToken);
                if (now - last >= 10)
                {
                    quietSince = watch.Elapsed;
                }

                last = now;
            }

            feedSeconds = (quietSince - TimeSpan.FromSeconds(0.5)).TotalSeconds;
        }

        var feedCpu = CpuSeconds(server.Pid) - cpuBefore;
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        var feedTransactions = await TransactionsAsync(data, cancellationToken) - transactions;
        var summary = string.Create(
            CultureInfo.InvariantCulture,
            $"Re-signer discovery (PostgreSQL, embedded signer, server {serverDll}): {n:N0} repositories copied by SQL ({load.TotalSeconds:0.0} s).\n\n"
            + $"| discovery | repositories | seconds | database transactions | server CPU seconds |\n|---|---:|---:|---:|---:|\n"
            + $"| at start (process start → \"working\", all scheduled) | {scheduled:N0} | {startSeconds:0.00} | {startTransactions:N0} | {startCpu:0.0} (incl. start-up) |\n"
            + $"| from the changefeed ({n:N0} new, inserted in {inserted:0.0} s) | {n:N0} | {feedSeconds:0.00}{(gauge is null ? " (until the database was quiet; no scheduled gauge)" : string.Empty)} | {feedTransactions:N0} | {feedCpu:0.0} |\n\n"
            + $"PostgreSQL: {postgres.Description}.");
        progress(summary);
        return summary;
    }

    // Copies the template to repositories first..last (tuf_files and changefeed rows) with the scale row's batch.
    private static async Task<TimeSpan> CopyAsync(NpgsqlDataSource data, int first, int last, CancellationToken cancellationToken, bool vacuum = true)
    {
        var watch = Stopwatch.StartNew();
        await using (var batch = ScaleBench.CopyTemplateBatch(data, TemplateGun, GunPrefix, first, last))
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        if (vacuum)
        {
            await using var command = data.CreateCommand("VACUUM ANALYZE tuf_files");
            await command.ExecuteNonQueryAsync(cancellationToken);
            await using var changes = data.CreateCommand("VACUUM ANALYZE changefeed");
            await changes.ExecuteNonQueryAsync(cancellationToken);
        }

        return watch.Elapsed;
    }

    // Committed transactions of this database (each statement of the server is one, outside explicit transactions).
    private static async Task<long> TransactionsAsync(NpgsqlDataSource data, CancellationToken cancellationToken)
    {
        await using var command = data.CreateCommand("SELECT pg_stat_clear_snapshot(); SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.GetInt64(0);
    }

    // The count of the last "working on this replica: N repositories scheduled" line, or -1.
    private static int WorkingCount(string logPath)
    {
        using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var match = WorkingLine().Matches(reader.ReadToEnd()).LastOrDefault();
        return match is null ? -1 : int.Parse(match.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
    }

    private static async Task<long?> ScheduledGaugeAsync(HttpClient http, string url, CancellationToken cancellationToken)
    {
        var metrics = await http.GetStringAsync(new Uri(url + "/metrics"), cancellationToken);
        var match = GaugeLine().Match(metrics);
        return match.Success ? (long)double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    // utime + stime of the process, in seconds (clock ticks of 1/100 s).
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    // The rendered line, or the server's JSON log (the template, then the property).
    [GeneratedRegex(@"working on this replica: (?:\{Repositories\} repositories scheduled"",""Repositories"":)?([\d,]+)")]
    private static partial Regex WorkingLine();

    [GeneratedRegex(@"^trustserver_resigner_repositories_scheduled (\S+)$", RegexOptions.Multiline)]
    private static partial Regex GaugeLine();
}
