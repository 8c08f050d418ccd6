using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TrustServer.Testing;

namespace TrustServer.Bench;

/// <summary>The benchmark sequence: start the stack, seed, GET load, publish load, memory, report.</summary>
internal static class BenchRunner
{
    private const string UnknownGun = "bench.example.com/library/does-not-exist";

    private static readonly ReadRow[] Rows =
    [
        new("timestamp.json", CurrentMetadata: true, ExpectSuccess: true, r => $"/v2/{r.Gun}/_trust/tuf/timestamp.json", "timestamp"),
        new("root.json", CurrentMetadata: true, ExpectSuccess: true, r => $"/v2/{r.Gun}/_trust/tuf/root.json", "root"),
        new("targets.json", CurrentMetadata: true, ExpectSuccess: true, r => $"/v2/{r.Gun}/_trust/tuf/targets.json", "targets"),
        new("snapshot by checksum", CurrentMetadata: false, ExpectSuccess: true, r => $"/v2/{r.Gun}/_trust/tuf/snapshot.{r.SnapshotSha256}.json", "snapshot"),
        new("unknown repository (404)", CurrentMetadata: false, ExpectSuccess: false, _ => $"/v2/{UnknownGun}/_trust/tuf/timestamp.json", string.Empty),
    ];

    public static async Task RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.Now;
        var resultsDirectory = options.ResultsDirectory ?? Path.Combine(RepositoryRoot(), "bench", "results", started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        var rawDirectory = Path.Combine(resultsDirectory, "raw");
        var logDirectory = Path.Combine(resultsDirectory, "logs");
        Directory.CreateDirectory(rawDirectory);
        Directory.CreateDirectory(logDirectory);
        var clock = Stopwatch.StartNew();
        void Progress(string message) => Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] {message}");

        if (options.RunResign)
        {
            Progress($"results in {resultsDirectory}");
            var resign = await Resigning.RunAsync(options, resultsDirectory, logDirectory, Progress, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(resultsDirectory, "summary.md"), "# Re-signer throughput\n\n" + resign.Summary + "\n", CancellationToken.None);
            return;
        }

        if (options.RunDiscovery)
        {
            Progress($"results in {resultsDirectory}");
            var discovery = await DiscoveryBench.RunAsync(options, resultsDirectory, logDirectory, Progress, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(resultsDirectory, "summary.md"), "# Re-signer discovery\n\n" + discovery + "\n", CancellationToken.None);
            return;
        }

        if (options.RunReads && Wrk.FindExecutable() is null)
        {
            throw new InvalidOperationException("wrk is not installed: `apt-get install -y wrk` (bench/run.sh does this).");
        }

        var report = new Report
        {
            StartedAt = started.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture),
            Machine = await DescribeMachineAsync(),
            Options = options,
        };
        Progress($"results in {resultsDirectory}");
        Progress(report.Machine);
        Progress("note: wrk, the servers, their signers and PostgreSQL share this machine's cores.");

        // Start-up of the published server (issue 19 target 6), before the load stack exists.
        if (options.RunStartup)
        {
            report.Startup.AddRange(await StartupBench.RunAsync(options, resultsDirectory, Progress, cancellationToken));
            if (options.OnlyStartup)
            {
                await StartupBench.WriteReportAsync(report, resultsDirectory);
                return;
            }
        }

        using var stack = await BenchStack.StartAsync(logDirectory, Progress, cancellationToken);
        Progress($"PostgreSQL: {stack.PostgresDescription}");
        Progress($"TrustServer {stack.TrustServer.Url} (pid {stack.TrustServer.Process.Pid}), notary-server {stack.Reference.Url} (pid {stack.Reference.Process.Pid}), C0 {stack.Control.Url} (pid {stack.Control.Process.Pid})");

        var cpu = new CpuMonitor(CpuMonitor.FindPostmaster(stack.PostgresDescription));
        if (options.RunScale)
        {
            await ScaleBench.RunAsync(options, stack, cpu, report, resultsDirectory, rawDirectory, Progress, cancellationToken);
        }

        if (options.RunReads || options.RunUploads)
        {
            // The GET rows read, and the large-upload rows post to, a repository seeded by the real notary client.
            Progress($"seeding {Seeder.Gun} with the real notary client (init --publish, {Seeder.TargetCount} targets) on both servers");
            var seeded = new Dictionary<string, SeededRepository>
            {
                [stack.TrustServer.Name] = await Seeder.SeedAsync(stack.TrustServer, stack.CaFile, stack.Http, stack.WorkDirectory, cancellationToken),
                [stack.Reference.Name] = await Seeder.SeedAsync(stack.Reference, stack.CaFile, stack.Http, stack.WorkDirectory, cancellationToken),
            };
            var ours = seeded[stack.TrustServer.Name];
            report.Notes.Add("Body sizes (TrustServer / notary-server): "
                + string.Join(", ", ours.Sizes.Select(s => $"{s.Key}.json {s.Value} / {seeded[stack.Reference.Name].Sizes[s.Key]} B"))
                + "; C0 answers the TrustServer size of each row.");
            if (options.RunReads)
            {
                await MeasureReadsAsync(options, stack, cpu, seeded, report, rawDirectory, Progress, cancellationToken);
                await MeasureTrustQueriesAsync(options, stack, cpu, report, rawDirectory, Progress, cancellationToken);
            }
        }

        var afterReads = stack.Processes.ToDictionary(p => p.Name, p => p.Process.ReadMemory());
        if (options.RunPublishes)
        {
            await MeasurePublishesAsync(options, stack, cpu, report, Progress, cancellationToken);
        }

        var afterPublishes = stack.Processes.ToDictionary(p => p.Name, p => p.Process.ReadMemory());

        if (options.RunPublishes || options.BigRepoOnly)
        {
            await BigRepoBench.RunAsync(options, stack, cpu, report, Progress, cancellationToken);
        }

        if (options.RunUploads)
        {
            await LargeUploads.MeasureAsync(stack, Seeder.Gun, report, Progress, cancellationToken);
        }

        if (options.RunGrowth && options.GrowthPublishes > 0)
        {
            foreach (var name in options.GrowthOnReference ? [stack.TrustServer.Name, stack.Reference.Name] : new[] { stack.TrustServer.Name })
            {
                var target = await CurrentTargetAsync(stack, name, report, Progress, "the growth row", cancellationToken);
                report.Growth.Add(await Growth.RunAsync(options, stack, target, Progress, cancellationToken));
            }
        }

        foreach (var (name, process) in stack.Processes)
        {
            var after = process.ReadMemory();
            report.Memory.Add(new MemorySample(name, process.Pid, afterReads[name]?.RssKiB, afterPublishes[name]?.RssKiB, after?.RssKiB, after?.PeakKiB));
        }

        foreach (var (name, process) in stack.Processes.Where(p => p.Process.HasExited))
        {
            report.Notes.Add($"{name} exited during the run (log: logs/{Path.GetFileName(process.LogPath)}).");
        }

        if (options.FullRun)
        {
            await FullRun.MeasureOwnProcessRowsAsync(options, report, resultsDirectory, logDirectory, Progress, cancellationToken);
        }

        report.Notes.Add($"PostgreSQL: {stack.PostgresDescription} (the test cluster settings: fsync, synchronous_commit and full_page_writes off — the same for both servers).");
        report.Notes.Add("notary-server and notary-signer log at 'warning', TrustServer at Serilog 'Warning' (no per-request log lines on either side).");
        report.Notes.Add("Publish clients keep connections alive (the notary CLI opens a new connection per request); the TLS handshake is not part of the publish latency.");

        var disturbed = report.CpuRows().Where(r => r.Cpu.Outside > 25).ToList();
        if (disturbed.Count > 0)
        {
            report.Notes.Add($"**Disturbed:** in {disturbed.Count} of {report.CpuRows().Count()} measurements processes outside the benchmark used more than 25 % of a core "
                + $"(worst {disturbed.Max(r => r.Cpu.Outside):0} %, {disturbed.MaxBy(r => r.Cpu.Outside).Measurement} on {disturbed.MaxBy(r => r.Cpu.Outside).Server}); "
                + "those numbers understate what the servers can do. Re-run on an otherwise idle machine.");
        }

        report.Elapsed = clock.Elapsed;
        var markdown = report.ToMarkdown();
        await File.WriteAllTextAsync(Path.Combine(resultsDirectory, "summary.md"), markdown, CancellationToken.None);
        await File.WriteAllTextAsync(
            Path.Combine(resultsDirectory, "summary.json"),
            JsonSerializer.Serialize(report.ToJson(), new JsonSerializerOptions { WriteIndented = true }),
            CancellationToken.None);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Progress($"done in {clock.Elapsed:mm\\:ss}; raw wrk output, server logs and summary.md/summary.json in {resultsDirectory}");
    }

    private static async Task MeasureReadsAsync(
        BenchOptions options,
        BenchStack stack,
        CpuMonitor cpu,
        Dictionary<string, SeededRepository> seeded,
        Report report,
        string rawDirectory,
        Action<string> progress,
        CancellationToken cancellationToken)
    {
        var ours = seeded[stack.TrustServer.Name];
        var warmed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in options.OnlyTrustQueries ? [] : Rows)
        {
            foreach (var (connections, run) in FullRun.ReadPlan(options))
            {
                var cell = new ReadCell(row, connections) { Run = run };
                report.Reads.Add(cell);
                await RestartReferenceIfDeadAsync(stack, report, progress, $"GET {row.Name} c={connections}", cancellationToken);

                // Interleaved per row and connection count, so slow drift (caches, autovacuum) hits all three alike.
                var targets = new List<(Target Target, string Url, Action<WrkResult> Store)>();
                if (row.ExpectSuccess)
                {
                    targets.Add((stack.Control, $"{stack.Control.Url}/c0/{ours.Sizes[row.SizeRole].ToString(CultureInfo.InvariantCulture)}", r => cell.Control = r));
                }

                targets.Add((stack.TrustServer, stack.TrustServer.Url + row.Path(ours), r => cell.TrustServer = r));
                targets.Add((stack.Reference, stack.Reference.Url + row.Path(seeded[stack.Reference.Name]), r => cell.Reference = r));
                foreach (var (target, url, store) in targets)
                {
                    var slug = $"{Slug(row.Name)}-{Slug(target.Name)}";
                    if (options.WarmupSeconds > 0 && warmed.Add(slug))
                    {
                        await Wrk.RunAsync(url, options.Threads, options.Connections.Max(), options.WarmupSeconds, Path.Combine(rawDirectory, $"warmup-{slug}.txt"), cancellationToken);
                    }

                    var signer = SignerOf(stack, target);
                    var settled = await cpu.WaitForQuietPostgresAsync(TimeSpan.FromSeconds(30), cancellationToken);
                    if (settled > TimeSpan.FromSeconds(1))
                    {
                        progress($"waited {settled.TotalSeconds:0.0} s for PostgreSQL to finish the previous measurement's queries");
                    }

                    var before = cpu.Take(target.Process.Pid, signer);
                    var result = await Wrk.RunAsync(url, options.Threads, connections, options.DurationSeconds, Path.Combine(rawDirectory, FullRun.RawFileName(slug, connections, run)), cancellationToken);
                    result = result with { Cpu = CpuMonitor.Diff(before, cpu.Take(target.Process.Pid, signer)) };
                    store(result);
                    progress($"GET {row.Name,-26} {target.Name,-13} c={connections,-3}{(run > 1 ? $" run {run}" : string.Empty)} {result.RequestsPerSecond,10:N0} req/s  p50 {result.P50Ms,7:0.00} ms  p99 {result.P99Ms,7:0.00} ms  cpu% {result.Cpu?.Compact}"
                        + (result.NonSuccessResponses > 0 ? $"  non-2xx {result.NonSuccessResponses}" : string.Empty)
                        + (result.SocketErrors > 0 ? $"  socket errors {result.SocketErrors}" : string.Empty));
                }
            }
        }
    }

    // The trust queries of issue 16 (TrustServer only: notary-server has no such API): the signers of a tag and the
    // admission decision, next to the GET rows; figures in the report's trust query table.
    private static async Task MeasureTrustQueriesAsync(
        BenchOptions options, BenchStack stack, CpuMonitor cpu, Report report, string rawDirectory, Action<string> progress, CancellationToken cancellationToken)
    {
        var gun = Seeder.Gun;
        var verify = JsonSerializer.Serialize(new { gun, name = "v1", requiredRoles = new[] { "targets" } });
        var rows = new (string Name, string Url, string? Body)[]
        {
            ("trust GET targets?name=v1", $"{stack.TrustServer.Url}/api/trust/v1/targets?gun={Uri.EscapeDataString(gun)}&name=v1", null),
            ("trust POST verify", $"{stack.TrustServer.Url}/api/trust/v1/verify", verify),
        };
        foreach (var (name, url, body) in rows)
        {
            var slug = Slug(name);
            if (options.WarmupSeconds > 0)
            {
                await Wrk.RunAsync(url, options.Threads, options.Connections.Max(), options.WarmupSeconds, Path.Combine(rawDirectory, $"warmup-{slug}.txt"), cancellationToken, body);
            }

            foreach (var connections in options.Connections)
            {
                var before = cpu.Take(stack.TrustServer.Process.Pid, stack.TrustServerSigner.Pid);
                var result = await Wrk.RunAsync(url, options.Threads, connections, options.DurationSeconds, Path.Combine(rawDirectory, $"{slug}-c{connections}.txt"), cancellationToken, body);
                result = result with { Cpu = CpuMonitor.Diff(before, cpu.Take(stack.TrustServer.Process.Pid, stack.TrustServerSigner.Pid)) };
                var line = $"{name} (TrustServer) c={connections}: {result.RequestsPerSecond:N0} req/s, p50 {result.P50Ms:0.00} ms, p99 {result.P99Ms:0.00} ms"
                    + (result.NonSuccessResponses > 0 ? $", non-2xx {result.NonSuccessResponses}" : string.Empty);
                report.TrustQueries.Add(new TrustQueryRow(name, connections, result));
                progress(line);
            }
        }
    }

    // TrustServer or the reference, by name; the reference restarted first if the previous load killed it
    // (BenchStack.RestartReferenceIfExitedAsync).
    private static async Task<Target> CurrentTargetAsync(BenchStack stack, string name, Report report, Action<string> progress, string next, CancellationToken cancellationToken)
    {
        if (name != stack.Reference.Name)
        {
            return stack.TrustServer;
        }

        await RestartReferenceIfDeadAsync(stack, report, progress, next, cancellationToken);
        return stack.Reference;
    }

    // No measurement runs silently against a dead reference server: it is restarted, and the report says so.
    private static async Task RestartReferenceIfDeadAsync(BenchStack stack, Report report, Action<string> progress, string next, CancellationToken cancellationToken)
    {
        if (await stack.RestartReferenceIfExitedAsync(cancellationToken) is { } reason)
        {
            var message = $"notary-server had died before {next} ({reason}); restarted on the same database. "
                + "The measurement during which it died counts only what it answered before.";
            report.Notes.Add(message);
            progress(message);
        }
    }

    private static int? SignerOf(BenchStack stack, Target target) =>
        target == stack.TrustServer ? stack.TrustServerSigner.Pid : target == stack.Reference ? stack.ReferenceSigner.Pid : null;

    private static async Task MeasurePublishesAsync(BenchOptions options, BenchStack stack, CpuMonitor cpu, Report report, Action<string> progress, CancellationToken cancellationToken)
    {
        var limit = TimeSpan.FromSeconds(options.PublishSeconds);
        progress($"preparing pre-signed uploads (1 repository x {options.SinglePublisherUpdates} and {options.ParallelRepositories} x {options.ParallelPublisherUpdates} updates per server)");
        var prepared = new Dictionary<string, (PreparedRepository Single, PreparedRepository[] Parallel)>();
        var warmups = new Dictionary<string, PreparedRepository[]>();
        foreach (var target in new[] { stack.TrustServer, stack.Reference })
        {
            var single = Publishing.PrepareAsync(stack.Http, target.Url, "bench.example.com/publish/single", options.SinglePublisherUpdates, cancellationToken);
            var parallel = Enumerable.Range(0, options.ParallelRepositories)
                .Select(i => Publishing.PrepareAsync(stack.Http, target.Url, $"bench.example.com/publish/parallel-{i}", options.ParallelPublisherUpdates, cancellationToken));
            var warmup = Enumerable.Range(0, 2)
                .Select(i => Publishing.PrepareAsync(stack.Http, target.Url, $"bench.example.com/publish/warmup-{i}", options.WarmupPublisherUpdates, cancellationToken));
            prepared[target.Name] = (await single, await Task.WhenAll(parallel));
            warmups[target.Name] = await Task.WhenAll(warmup);
        }

        foreach (var target in new[] { stack.TrustServer, stack.Reference })
        {
            var (single, parallel) = prepared[target.Name];
            await Publishing.InitializeAsync(stack.Http, target.Url, [single, .. parallel, .. warmups[target.Name]], cancellationToken);
        }

        // Like the GET rows' warm-up: unrecorded publishes on other repositories, so the measurements see the steady state.
        if (options.WarmupSeconds > 0)
        {
            foreach (var name in new[] { stack.TrustServer.Name, stack.Reference.Name })
            {
                var target = await CurrentTargetAsync(stack, name, report, progress, "the publish warm-up", cancellationToken);
                using var http = BenchStack.CreateHttpClient(stack.CaFile);
                var warmup = await Publishing.RunAsync(http, target.Url, warmups[target.Name], TimeSpan.FromSeconds(options.WarmupSeconds * 2), cancellationToken);
                progress($"publish warm-up                      {target.Name,-13} {warmup.Accepted} publishes in {warmup.Seconds:0.0} s (unrecorded)");
            }
        }

        progress("repositories initialized and warmed up (untimed); publishing");
        var metricsBefore = await ScrapeMetricsAsync(stack, "metrics-before-publish.txt", cancellationToken);
        long acceptedByTrustServer = 0;
        foreach (var (name, pick) in new (string, Func<(PreparedRepository Single, PreparedRepository[] Parallel), PreparedRepository[]>)[]
        {
            ("1 publisher", p => [p.Single]),
            ($"{options.ParallelRepositories} repositories in parallel", p => p.Parallel),
        })
        {
            var results = new Dictionary<string, PublishResult>();
            foreach (var targetName in new[] { stack.TrustServer.Name, stack.Reference.Name })
            {
                var target = await CurrentTargetAsync(stack, targetName, report, progress, $"publish {name}", cancellationToken);
                using var http = BenchStack.CreateHttpClient(stack.CaFile);
                var phasesBefore = target == stack.TrustServer ? await ScrapeMetricsAsync(stack, null, cancellationToken) : null;
                var before = cpu.Take(target.Process.Pid, SignerOf(stack, target));
                var result = await Publishing.RunAsync(http, target.Url, pick(prepared[target.Name]), limit, cancellationToken);
                result = result with { Cpu = CpuMonitor.Diff(before, cpu.Take(target.Process.Pid, SignerOf(stack, target))) };
                results[target.Name] = result;
                progress($"publish {name,-28} {target.Name,-13} {result.PublishesPerSecond,8:N1}/s  p50 {result.P50Ms,7:0.0} ms  p99 {result.P99Ms,7:0.0} ms  ({result.Accepted} in {result.Seconds:0.0} s"
                    + (result.Failed > 0 ? $", {result.Failed} failed: {result.FirstError}" : string.Empty) + $")  cpu% {result.Cpu?.Compact}");
                if (phasesBefore is not null && PhaseBreakdown(phasesBefore, await ScrapeMetricsAsync(stack, null, cancellationToken)) is { } phases)
                {
                    report.PublishPhases.Add(new PublishPhaseRow(name, phases));
                    progress($"publish phases (mean ms): {phases}");
                }
            }

            report.Publishes.Add((name, results[stack.TrustServer.Name], results[stack.Reference.Name]));
            acceptedByTrustServer += results[stack.TrustServer.Name].Accepted;
        }

        // TrustServer's own counters (/metrics): signer round trips per accepted publish.
        var metricsAfter = await ScrapeMetricsAsync(stack, "metrics-after-publish.txt", cancellationToken);
        var signerCalls = metricsAfter
            .Where(m => m.Key.StartsWith("trustserver_signer_calls_total{", StringComparison.Ordinal))
            .Select(m => (m.Key, Calls: m.Value - metricsBefore.GetValueOrDefault(m.Key)))
            .Where(m => m.Calls > 0)
            .ToList();
        if (acceptedByTrustServer > 0 && signerCalls.Count > 0)
        {
            report.Notes.Add("TrustServer signer calls per accepted publish (from /metrics): " + string.Join(", ", signerCalls
                .Select(m => $"{m.Key[(m.Key.IndexOf('{') + 1)..^1]} {(m.Calls / acceptedByTrustServer).ToString("0.##", CultureInfo.InvariantCulture)}")) + ".");
        }
    }

    // Mean milliseconds per publish phase between two scrapes, e.g. "load 1.2, validate 3.4 (sign 2.0), commit 1.1".
    internal static string? PhaseBreakdown(Dictionary<string, double> before, Dictionary<string, double> after)
    {
        double? Mean(string phase)
        {
            var sum = $"trustserver_publish_phase_seconds_sum{{phase=\"{phase}\"}}";
            var count = $"trustserver_publish_phase_seconds_count{{phase=\"{phase}\"}}";
            var n = after.GetValueOrDefault(count) - before.GetValueOrDefault(count);
            return n > 0 ? (after.GetValueOrDefault(sum) - before.GetValueOrDefault(sum)) / n * 1000 : null;
        }

        string Format(double? ms) => ms?.ToString("0.00", CultureInfo.InvariantCulture) ?? "–";
        return Mean("load") is null
            ? null
            : $"load {Format(Mean("load"))}, validate {Format(Mean("validate"))} (of which sign {Format(Mean("sign"))}), commit {Format(Mean("commit"))}";
    }

    // Every sample of TrustServer's /metrics by "name{labels}"; keeps the scrape with the results when a file name is given.
    public static async Task<Dictionary<string, double>> ScrapeMetricsAsync(BenchStack stack, string? fileName, CancellationToken cancellationToken)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        try
        {
            var text = await stack.Http.GetStringAsync(new Uri(stack.TrustServer.Url + "/metrics"), cancellationToken);
            if (fileName is not null)
            {
                await File.WriteAllTextAsync(Path.Combine(stack.LogDirectory, fileName), text, cancellationToken);
            }

            foreach (var line in text.Split('\n').Where(l => l.Length > 0 && l[0] != '#'))
            {
                var space = line.LastIndexOf(' ');
                if (space > 0 && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    samples[line[..space]] = value;
                }
            }
        }
        catch (HttpRequestException)
        {
            // No metrics endpoint: nothing to report.
        }

        return samples;
    }

    private static async Task<string> DescribeMachineAsync()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memory = File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var package = await ProcessRunner.RunAsync("dpkg-query", ["-W", "-f=${Version}", "notary"], TimeSpan.FromSeconds(10));
        var version = package.Succeeded ? "notary-server " + package.StandardOutput.Trim() + " (Debian package)" : "notary-server (version unknown)";
        var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
        return $"Machine: {Environment.ProcessorCount} cores ({cpu ?? "?"}), {memory ?? "?"} RAM, load average at start {load}, .NET {Environment.Version}; reference: {version}.";
    }

    private static string Slug(string text) =>
        new(text.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray());

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "TrustServer.sln")))
            {
                return directory.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
