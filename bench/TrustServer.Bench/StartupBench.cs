using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using TrustServer.Testing;

namespace TrustServer.Bench;

/// <summary>One start of the published server: process start to the first 200 of the readiness endpoint.</summary>
/// <param name="WallMs">Milliseconds from <c>Process.Start</c> to the first 200 of <c>/healthz/ready</c>.</param>
/// <param name="CpuMs">CPU time (user + system) the server process had used by then: robust on a busy machine.</param>
/// <param name="RssKiB">VmRSS right after the first 200.</param>
/// <param name="Phases">The server's start-up phases (event 1900).</param>
internal sealed record StartupRun(double WallMs, double CpuMs, long RssKiB, IReadOnlyList<StartupPhase> Phases);

/// <summary>A start-up phase as the server logged it (event 1900): wall time, and methods JIT-compiled and JIT time in it.</summary>
internal sealed record StartupPhase(string Phase, double Ms, long JitMethods, double JitMs);

/// <summary>The runs of one start-up case (e.g. SQLite restart, PostgreSQL + remote signer).</summary>
internal sealed record StartupCase(string Name, bool Targeted, IReadOnlyList<StartupRun> Runs)
{
    public double MedianWallMs => Median(Runs.Select(r => r.WallMs));

    public double MaxWallMs => Runs.Max(r => r.WallMs);

    public double MedianCpuMs => Median(Runs.Select(r => r.CpuMs));

    public double MedianRssKiB => Median(Runs.Select(r => (double)r.RssKiB));

    public long MaxRssKiB => Runs.Max(r => r.RssKiB);

    /// <summary>Median duration of <paramref name="phase"/> over the runs that logged it; null when none did.</summary>
    public double? PhaseMedianMs(string phase) => PhaseMedian(phase, p => p.Ms);

    /// <summary>Median JIT time in <paramref name="phase"/>; null when no run logged it.</summary>
    public double? PhaseMedianJitMs(string phase) => PhaseMedian(phase, p => p.JitMs);

    /// <summary>Median JIT-compiled methods in <paramref name="phase"/>; null when no run logged it.</summary>
    public double? PhaseMedianJitMethods(string phase) => PhaseMedian(phase, p => p.JitMethods);

    private double? PhaseMedian(string phase, Func<StartupPhase, double> value)
    {
        var values = Runs.SelectMany(r => r.Phases.Where(p => p.Phase == phase).Select(value)).ToList();
        return values.Count == 0 ? null : Median(values);
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>
/// <c>--only startup</c> (issue 19, target 6): publishes TrustServer.Server and TrustServer.Signer the way
/// deploy/docker/*.Dockerfile do, into a temporary directory, then starts the published server
/// <c>--startup-runs</c> times per case and measures the time from <c>Process.Start</c> to the first 200 of
/// <c>/healthz/ready</c> (the Kubernetes readiness probe; polled every 5 ms), the server's CPU time and VmRSS at that
/// moment, and its start-up phases (event 1900, logged at Debug). Cases: the README's embedded default (SQLite, embedded
/// signing, plain HTTP) restarted on an existing data directory and started on a fresh one, and the bench's setup
/// (HTTPS, PostgreSQL, the remote signer over mutual TLS) restarted on a migrated database. Every server is stopped with
/// SIGTERM before the next start. The page cache is warm (the files were just written and read): a replica on a new
/// node also reads them from disk.
/// </summary>
internal static class StartupBench
{
    public const string SqliteRestart = "embedded default (SQLite), restart on an existing data directory";
    public const string SqliteFresh = "embedded default (SQLite), first start on a fresh data directory";
    public const string PostgresRestart = "HTTPS, PostgreSQL, remote signer over mutual TLS, restart";

    private const string ReadinessPath = "/healthz/ready";
    private const int StartupEventId = 1900;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The <c>dotnet publish</c> arguments of deploy/docker/server.Dockerfile and signer.Dockerfile (output directory apart).</summary>
    public static readonly string[] PublishArguments = ["-c", "Release", "-r", "linux-x64", "/p:UseAppHost=false"];

    public static async Task<List<StartupCase>> RunAsync(BenchOptions options, string resultsDirectory, Action<string> progress, CancellationToken cancellationToken)
    {
        var logDirectory = Path.Combine(resultsDirectory, "logs", "startup");
        Directory.CreateDirectory(logDirectory);
        using var work = new TemporaryDirectory("trustserver-startup");
        var published = options.StartupPublished ?? work.Combine("published");
        if (options.StartupPublished is null)
        {
            foreach (var project in new[] { "TrustServer.Server", "TrustServer.Signer" })
            {
                var clock = Stopwatch.StartNew();
                progress($"startup: dotnet publish {project} {string.Join(' ', PublishArguments.Concat(options.StartupPublishProperties.Select(p => "/p:" + p)))}");
                await PublishAsync(project, Path.Combine(published, project), options.StartupPublishProperties, cancellationToken);
                progress($"startup: published {project} in {clock.Elapsed.TotalSeconds:0} s ({DirectoryMiB(Path.Combine(published, project)):0.0} MiB)");
            }
        }

        var serverDll = Path.Combine(published, "TrustServer.Server", "TrustServer.Server.dll");
        var signerDll = Path.Combine(published, "TrustServer.Signer", "TrustServer.Signer.dll");
        foreach (var dll in new[] { serverDll, signerDll })
        {
            if (!File.Exists(dll))
            {
                throw new InvalidOperationException($"{dll} is missing (--startup-published names a directory with TrustServer.Server/ and TrustServer.Signer/).");
            }
        }

        var cases = new List<StartupCase>();
        var runs = options.StartupRuns;
        using (var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = StartTimeout })
        {
            // The embedded default: first starts on fresh data directories, then restarts on the last one.
            var fresh = new List<StartupRun>();
            var dataDirectory = string.Empty;
            for (var i = 0; i < runs; i++)
            {
                dataDirectory = work.Combine($"sqlite-{i}");
                Directory.CreateDirectory(dataDirectory);
                fresh.Add(await MeasureAsync(SqliteFresh, i, http, "http", serverDll, dataDirectory, [], logDirectory, progress, cancellationToken));
            }

            var restart = new List<StartupRun>();
            for (var i = 0; i < runs; i++)
            {
                restart.Add(await MeasureAsync(SqliteRestart, i, http, "http", serverDll, dataDirectory, [], logDirectory, progress, cancellationToken));
            }

            cases.Add(new StartupCase(SqliteRestart, Targeted: true, restart));
            cases.Add(new StartupCase(SqliteFresh, Targeted: false, fresh));
        }

        cases.Add(await MeasurePostgresAsync(runs, serverDll, signerDll, work, logDirectory, progress, cancellationToken));
        return cases;
    }

    /// <summary>The target checks of the start-up rows: the median of the runs, on the cases the target names.</summary>
    public static IEnumerable<TargetCheck> TargetChecks(IReadOnlyList<StartupCase> cases) =>
        cases.Where(c => c.Targeted && c.Runs.Count > 0).Select(c => new TargetCheck(
            $"start-up to first 200 <= 1.5 s, {c.Name} (median)",
            string.Create(CultureInfo.InvariantCulture, $"median {c.MedianWallMs:0} ms, max {c.MaxWallMs:0} ms of {c.Runs.Count}; RSS {c.MedianRssKiB / 1024:0.0} MiB"),
            c.MedianWallMs <= 1500));

    /// <summary>The report section: one row per case, then the median duration of each server-side phase.</summary>
    public static void AppendMarkdown(StringBuilder text, IReadOnlyList<StartupCase> cases)
    {
        if (cases.Count == 0)
        {
            return;
        }

        text.AppendLine();
        text.AppendLine("### Start-up of the published server (process start to the first 200 of /healthz/ready)");
        text.AppendLine();
        text.AppendLine("| case | runs | median ms | max ms | CPU ms (median) | RSS MiB at first 200 (median / max) |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var c in cases)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {c.Name} | {c.Runs.Count} | {c.MedianWallMs:0} | {c.MaxWallMs:0} | {c.MedianCpuMs:0} | {c.MedianRssKiB / 1024:0.0} / {c.MaxRssKiB / 1024.0:0.0} |");
        }

        var phases = cases.SelectMany(c => c.Runs).SelectMany(r => r.Phases.Select(p => p.Phase)).Distinct().ToList();
        if (phases.Count == 0)
        {
            return;
        }

        text.AppendLine();
        text.AppendLine("Where the time goes (median per phase: wall ms / methods JIT-compiled / JIT ms; the server's event 1900; the last row is measured by the bench, wall only):");
        text.AppendLine();
        text.AppendLine("| phase | " + string.Join(" | ", cases.Select(c => c.Name)) + " |");
        text.AppendLine("|---|" + string.Concat(cases.Select(_ => "---:|")));
        foreach (var phase in phases)
        {
            text.AppendLine($"| {phase} | " + string.Join(" | ", cases.Select(c => c.PhaseMedianMs(phase) is { } ms
                ? string.Create(CultureInfo.InvariantCulture, $"{ms:0} / {c.PhaseMedianJitMethods(phase):0} / {c.PhaseMedianJitMs(phase):0}")
                : "–")) + " |");
        }
    }

    private static async Task<StartupCase> MeasurePostgresAsync(
        int runs, string serverDll, string signerDll, TemporaryDirectory work, string logDirectory, Action<string> progress, CancellationToken cancellationToken)
    {
        const string alias = "startup_1";
        using var ca = TestCertificates.CreateCertificateAuthority("TrustServer Startup Bench CA");
        var caFile = ca.WriteCertificatePem(work.Combine("ca.pem"));
        using var https = TestCertificates.CreateTlsServer(ca, "localhost");
        var (httpsCert, httpsKey) = https.WriteFiles(work.Path, "https");
        using var signerTls = TestCertificates.CreateTlsServer(ca, "signer");
        var (signerCert, signerKey) = signerTls.WriteFiles(work.Path, "signer");
        using var client = TestCertificates.CreateTlsClient(ca, "server-to-signer");
        var (clientCert, clientKey) = client.WriteFiles(work.Path, "server-client");

        var postgres = await PostgresServer.GetAsync();
        var metadata = postgres.GetConnectionString(await postgres.CreateDatabaseAsync("bench_startup", cancellationToken));
        var keys = postgres.GetConnectionString(await postgres.CreateDatabaseAsync("bench_startup_keys", cancellationToken));

        var signerPort = TestPorts.GetFreeTcpPort();
        var signerDirectory = work.Combine("signer");
        Directory.CreateDirectory(signerDirectory);
        var clock = Stopwatch.StartNew();
        using var signer = ChildProcess.Start(
            "startup-signer",
            BenchStack.DotnetHost(),
            [
                signerDll, "--urls", $"https://127.0.0.1:{signerPort}",
                $"--Tls:CertFile={signerCert}", $"--Tls:KeyFile={signerKey}", $"--Tls:ClientCaFile={caFile}",
                "--Storage:Provider=Postgres", $"--ConnectionStrings:Keys={keys}", $"--Keys:DefaultAlias={alias}", "--Logging:LogLevel:Default=Warning",
            ],
            Path.Combine(logDirectory, "signer.log"),
            signerDirectory,
            new Dictionary<string, string> { ["NOTARY_SIGNER_" + alias.ToUpperInvariant()] = "startup-bench-passphrase-0123456789", ["ASPNETCORE_ENVIRONMENT"] = "Production", ["DOTNET_ENVIRONMENT"] = "Production" });
        await signer.WaitForPortAsync(signerPort, StartTimeout, cancellationToken);
        progress(string.Create(CultureInfo.InvariantCulture, $"startup: published signer (PostgreSQL, fresh key database) accepts TCP after {clock.Elapsed.TotalMilliseconds:0} ms, RSS {signer.ReadMemory()?.RssKiB / 1024.0:0.0} MiB"));

        string[] arguments =
        [
            $"--Kestrel:Certificates:Default:Path={httpsCert}", $"--Kestrel:Certificates:Default:KeyPath={httpsKey}",
            "--Storage:Provider=Postgres", $"--ConnectionStrings:Metadata={metadata}",
            "--Signing:Mode=Remote", $"--Signing:Remote:Url=https://127.0.0.1:{signerPort}",
            $"--Signing:Remote:CaFile={caFile}", $"--Signing:Remote:ClientCertFile={clientCert}", $"--Signing:Remote:ClientKeyFile={clientKey}",
        ];
        var serverDirectory = work.Combine("postgres");
        Directory.CreateDirectory(serverDirectory);
        using var http = BenchStack.CreateHttpClient(caFile);
        http.Timeout = StartTimeout;

        // The first start migrates the fresh database (reported, not counted); the measured starts are restarts.
        var first = await MeasureAsync(PostgresRestart + " (first start: migrations)", 0, http, "https", serverDll, serverDirectory, arguments, logDirectory, progress, cancellationToken);
        var measured = new List<StartupRun>();
        for (var i = 0; i < runs; i++)
        {
            measured.Add(await MeasureAsync(PostgresRestart, i, http, "https", serverDll, serverDirectory, arguments, logDirectory, progress, cancellationToken));
        }

        progress(string.Create(CultureInfo.InvariantCulture, $"startup: PostgreSQL first start (fresh database, migrations applied) {first.WallMs:0} ms, CPU {first.CpuMs:0} ms"));
        return new StartupCase(PostgresRestart, Targeted: true, measured);
    }

    private static async Task<StartupRun> MeasureAsync(
        string name,
        int index,
        HttpClient http,
        string scheme,
        string dll,
        string workingDirectory,
        IEnumerable<string> arguments,
        string logDirectory,
        Action<string> progress,
        CancellationToken cancellationToken)
    {
        var port = TestPorts.GetFreeTcpPort();
        var url = new Uri($"{scheme}://127.0.0.1:{port}{ReadinessPath}");
        // One log per start (the phases are read back from it; ChildProcess appends).
        var slug = new string([.. name.Where(char.IsLetterOrDigit)]).ToLowerInvariant();
        var logPath = Path.Combine(logDirectory, $"{slug}-{index}.log");
        File.Delete(logPath);

        // The bench's own HTTP stack is warm before the clock starts (a refused connection costs microseconds).
        await TryGetAsync(http, url, cancellationToken);

        var clock = Stopwatch.StartNew();
        using var server = ChildProcess.Start(
            "startup-server",
            BenchStack.DotnetHost(),
            [
                dll, "--urls", $"{scheme}://127.0.0.1:{port}", "--Serilog:MinimumLevel:Default=Warning",
                "--Serilog:MinimumLevel:Override:TrustServer.Server.Hosting.StartupTimeline=Debug", .. arguments,
            ],
            logPath,
            workingDirectory,
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["DOTNET_ENVIRONMENT"] = "Production" });
        while (!await TryGetAsync(http, url, cancellationToken))
        {
            if (server.HasExited || clock.Elapsed > StartTimeout)
            {
                throw new InvalidOperationException($"startup: the server {(server.HasExited ? $"exited with code {server.ExitCode}" : "did not answer")} (log {logPath})");
            }

            await Task.Delay(5, cancellationToken);
        }

        var wallMs = clock.Elapsed.TotalMilliseconds;
        var rss = server.ReadMemory()?.RssKiB ?? 0;
        var cpuMs = CpuMs(server.Pid);
        await StopAsync(server, cancellationToken);
        var phases = ReadPhases(logPath);
        var listening = phases.Sum(p => p.Ms);
        var run = new StartupRun(wallMs, cpuMs, rss, [.. phases, new StartupPhase("first 200 of /healthz/ready after listening (bench)", Math.Max(0, wallMs - listening), 0, 0)]);
        progress(string.Create(CultureInfo.InvariantCulture, $"startup: {name} #{index + 1}: {wallMs,6:0} ms, CPU {cpuMs,5:0} ms, RSS {rss / 1024.0:0.0} MiB"));
        return run;
    }

    private static async Task<bool> TryGetAsync(HttpClient http, Uri url, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(url, cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException or IOException || ex.HttpRequestError == HttpRequestError.ConnectionError)
        {
            return false;
        }
    }

    // SIGTERM (the orchestrator's stop), then wait: the next start must not meet a half-closed database or port.
    private static async Task StopAsync(ChildProcess server, CancellationToken cancellationToken)
    {
        using (var kill = Process.Start("kill", ["-TERM", server.Pid.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(cancellationToken);
        }

        var clock = Stopwatch.StartNew();
        while (!server.HasExited && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20, cancellationToken);
        }

        // Let the log writer drain the last lines.
        await Task.Delay(100, cancellationToken);
    }

    // utime + stime of /proc/<pid>/stat (fields 14 and 15, clock ticks of 10 ms).
    private static double CpuMs(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    // The server's event 1900 lines (compact JSON in Production): phase name and duration.
    private static List<StartupPhase> ReadPhases(string logPath)
    {
        var phases = new List<StartupPhase>();
        foreach (var line in File.ReadLines(logPath).Where(l => l.StartsWith('{') && l.Contains("\"Phase\"", StringComparison.Ordinal)))
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            if (root.TryGetProperty("EventId", out var id) && id.TryGetProperty("Id", out var number) && number.GetInt32() == StartupEventId)
            {
                phases.Add(new StartupPhase(
                    root.GetProperty("Phase").GetString() ?? "?",
                    root.GetProperty("PhaseMs").GetDouble(),
                    root.TryGetProperty("JitMethods", out var methods) ? methods.GetInt64() : 0,
                    root.TryGetProperty("JitMs", out var jit) ? jit.GetDouble() : 0));
            }
        }

        return phases;
    }

    private static async Task PublishAsync(string project, string output, IReadOnlyList<string> properties, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(BenchStack.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "publish", Path.Combine(BenchStack.RepositoryRoot(), "src", project, project + ".csproj") }
                     .Concat(PublishArguments).Concat(["-o", output, "-nologo", "-v", "quiet"]).Concat(properties.Select(p => "/p:" + p)))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start dotnet publish");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish {project} failed (exit {process.ExitCode}):\n{await stdout}\n{await stderr}");
        }
    }

    private static double DirectoryMiB(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) / 1048576.0;

    /// <summary>For <c>--only startup</c>: the report of this part alone, written like the full run's.</summary>
    public static async Task WriteReportAsync(Report report, string resultsDirectory)
    {
        var markdown = report.ToMarkdown();
        await File.WriteAllTextAsync(Path.Combine(resultsDirectory, "summary.md"), markdown, CancellationToken.None);
        await File.WriteAllTextAsync(
            Path.Combine(resultsDirectory, "summary.json"),
            JsonSerializer.Serialize(report.ToJson(), new JsonSerializerOptions { WriteIndented = true }),
            CancellationToken.None);
        Console.WriteLine();
        Console.WriteLine(markdown);
    }
}
