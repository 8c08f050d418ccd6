using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace TrustServer.Bench;

/// <summary>One wrk measurement: throughput, latency percentiles and error counts.</summary>
internal sealed record WrkResult(
    long Requests,
    double Seconds,
    double RequestsPerSecond,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double MaxMs,
    long NonSuccessResponses,
    long SocketErrors,
    string RawOutputFile,
    CpuShare? Cpu = null);

/// <summary>
/// Runs the <c>wrk</c> load generator (Debian package <c>wrk</c>). A small Lua <c>done</c> hook prints the exact
/// numbers as JSON; wrk's own text output (with <c>--latency</c>) is kept next to it as the raw record.
/// </summary>
internal static class Wrk
{
    // Only done() is defined, so wrk keeps its static pre-built request (no per-request Lua).
    private const string Script = """
        done = function(summary, latency, requests)
          local e = summary.errors
          io.write(string.format(
            "WRKJSON {\"requests\":%d,\"duration_us\":%d,\"status_errors\":%d,\"socket_errors\":%d,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"max_us\":%d}\n",
            summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
            latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
        end
        """;

    public static string? FindExecutable() =>
        new[] { "/usr/bin/wrk", "/usr/local/bin/wrk" }.FirstOrDefault(File.Exists)
        ?? (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Select(directory => Path.Combine(directory, "wrk")).FirstOrDefault(File.Exists);

    /// <summary>Runs wrk against <paramref name="url"/> and saves its output to <paramref name="rawFile"/>.</summary>
    /// <param name="url">The URL.</param>
    /// <param name="threads">wrk threads.</param>
    /// <param name="connections">Open connections.</param>
    /// <param name="seconds">Duration.</param>
    /// <param name="rawFile">Where wrk's output goes.</param>
    /// <param name="cancellationToken">Kills wrk when cancelled.</param>
    /// <param name="postJson">When set, every request is a POST of this JSON body (set once in the script: still no per-request Lua).</param>
    /// <param name="requestScript">When set, Lua put before the done hook (e.g. request/response functions; per-request Lua).</param>
    /// <param name="scriptArguments">Arguments passed to the script's init(args) (after <c>--</c>).</param>
    /// <param name="interruptWhen">Polled every 20 ms: once true, wrk gets SIGINT and reports what it did so far
    /// (a script that stops its threads early does not end wrk before the duration).</param>
    public static async Task<WrkResult> RunAsync(
        string url, int threads, int connections, double seconds, string rawFile, CancellationToken cancellationToken, string? postJson = null,
        string? requestScript = null, IReadOnlyList<string>? scriptArguments = null, Func<bool>? interruptWhen = null)
    {
        var executable = FindExecutable() ?? throw new InvalidOperationException("wrk is not installed: `apt-get install -y wrk` (bench/run.sh does this).");
        var scriptFile = Path.Combine(Path.GetDirectoryName(rawFile)!, postJson is null && requestScript is null ? "wrk-done.lua" : Path.GetFileNameWithoutExtension(rawFile) + ".lua");
        if (requestScript is not null)
        {
            await File.WriteAllTextAsync(scriptFile, requestScript + "\n" + Script, cancellationToken);
        }
        else if (postJson is not null)
        {
            var body = postJson.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
            await File.WriteAllTextAsync(scriptFile, $"wrk.method = \"POST\"\nwrk.body = \"{body}\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n{Script}", cancellationToken);
        }
        else if (!File.Exists(scriptFile))
        {
            await File.WriteAllTextAsync(scriptFile, Script, cancellationToken);
        }

        var duration = Math.Max(1, (int)Math.Round(seconds)).ToString(CultureInfo.InvariantCulture) + "s";
        string[] arguments =
        [
            "-t", threads.ToString(CultureInfo.InvariantCulture),
            "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-d", duration, "--timeout", "5s", "--latency", "-s", scriptFile, url, .. (scriptArguments is null ? Array.Empty<string>() : ["--", .. scriptArguments]),
        ];
        var startInfo = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("could not start wrk");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            while (interruptWhen is not null && !process.HasExited && !interruptWhen())
            {
                await Task.Delay(20, cancellationToken);
            }

            if (interruptWhen is not null && !process.HasExited)
            {
                using var interrupt = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]);
                await interrupt.WaitForExitAsync(cancellationToken);
            }

            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout;
        var errors = await stderr;
        await File.WriteAllTextAsync(rawFile, $"$ wrk {string.Join(' ', arguments)}\n{output}{errors}", CancellationToken.None);
        var jsonLine = output.Split('\n').FirstOrDefault(line => line.StartsWith("WRKJSON ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk exited with {process.ExitCode} without a summary:\n{output}{errors}");
        using var json = JsonDocument.Parse(jsonLine["WRKJSON ".Length..]);
        var root = json.RootElement;
        var requests = root.GetProperty("requests").GetInt64();
        var elapsed = root.GetProperty("duration_us").GetInt64() / 1e6;
        return new WrkResult(
            requests,
            elapsed,
            elapsed > 0 ? requests / elapsed : 0,
            root.GetProperty("p50_us").GetInt64() / 1000.0,
            root.GetProperty("p90_us").GetInt64() / 1000.0,
            root.GetProperty("p99_us").GetInt64() / 1000.0,
            root.GetProperty("max_us").GetInt64() / 1000.0,
            root.GetProperty("status_errors").GetInt64(),
            root.GetProperty("socket_errors").GetInt64(),
            Path.GetFileName(rawFile));
    }
}
