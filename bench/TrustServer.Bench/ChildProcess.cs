using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using TrustServer.Testing;

namespace TrustServer.Bench;

/// <summary>
/// A long-running child (a server, a signer, C0) with its output in a log file. Every child is registered so that
/// <see cref="KillAll"/> (normal exit, Ctrl-C, unhandled error) stops it; a detached watchdog kills it if this
/// process dies without running its handlers (e.g. SIGKILL).
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private static readonly ConcurrentDictionary<int, ChildProcess> Running = new();

    private readonly Process _process;
    private readonly StreamWriter _log;

    private ChildProcess(string name, Process process, StreamWriter log)
    {
        Name = name;
        _process = process;
        _log = log;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code (only once <see cref="HasExited"/>).</summary>
    public int ExitCode => _process.ExitCode;

    public string LogPath { get; private init; } = string.Empty;

    /// <summary>Starts <paramref name="fileName"/> with its stdout and stderr appended to <paramref name="logPath"/>.</summary>
    public static ChildProcess Start(
        string name,
        string fileName,
        IEnumerable<string> arguments,
        string logPath,
        string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process, log) { LogPath = logPath };
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.Start();
        Running[process.Id] = child;
        StartWatchdog(process.Id);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        return child;
    }

    /// <summary>Kills every child still running (idempotent).</summary>
    public static void KillAll()
    {
        foreach (var child in Running.Values)
        {
            child.Dispose();
        }
    }

    /// <summary>Resident set size and its peak from /proc/&lt;pid&gt;/status, in KiB; null when unreadable.</summary>
    public (long RssKiB, long PeakKiB)? ReadMemory()
    {
        try
        {
            long rss = -1, peak = -1;
            foreach (var line in File.ReadLines($"/proc/{Pid.ToString(CultureInfo.InvariantCulture)}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = ParseKiB(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    peak = ParseKiB(line);
                }
            }

            return rss < 0 ? null : (rss, peak);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Waits until <paramref name="ready"/> returns true; throws with the log tail when the child exits or time runs out.</summary>
    public async Task WaitUntilAsync(Func<CancellationToken, Task<bool>> ready, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < timeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} during start-up. Log {LogPath}:\n{Tail()}");
            }

            try
            {
                if (await ready(cancellationToken))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or SocketException or IOException
                || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // Not listening yet.
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new InvalidOperationException($"{Name} was not ready after {timeout.TotalSeconds:F0} s. Log {LogPath}:\n{Tail()}");
    }

    /// <summary>Waits (90 s at most) until a GET of <paramref name="url"/> answers 2xx.</summary>
    public Task WaitForSuccessAsync(HttpClient http, Uri url, CancellationToken cancellationToken) =>
        WaitUntilAsync(
            async token =>
            {
                using var response = await http.GetAsync(url, token);
                return response.IsSuccessStatusCode;
            },
            TimeSpan.FromSeconds(90),
            cancellationToken);

    /// <summary>Waits until the TCP port accepts connections.</summary>
    public Task WaitForPortAsync(int port, TimeSpan timeout, CancellationToken cancellationToken) =>
        WaitUntilAsync(
            async token =>
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", port, token);
                return true;
            },
            timeout,
            cancellationToken);

    public void Dispose()
    {
        if (!Running.TryRemove(_process.Id, out _))
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private static long ParseKiB(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    // A detached shell (own session, so not in this process tree) that kills the child once this process is gone.
    // It compares the child's start time so that a recycled PID is never killed.
    private static void StartWatchdog(int pid)
    {
        if (!File.Exists($"/proc/{pid}/stat"))
        {
            return;
        }

        string startTime;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            startTime = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
        }
        catch (IOException)
        {
            return;
        }

        var child = pid.ToString(CultureInfo.InvariantCulture);
        ExitWatchdog.Start(
            $"s=$(sed 's/.*) //' /proc/{child}/stat 2>/dev/null | cut -d' ' -f20); "
            + $"if [ \"$s\" = \"{startTime}\" ]; then kill -9 {child}; fi");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output after the child was stopped.
            }
        }
    }

    private string Tail()
    {
        lock (_log)
        {
            _log.Flush();
        }

        try
        {
            var lines = File.ReadAllLines(LogPath);
            return string.Join('\n', lines.TakeLast(40));
        }
        catch (IOException)
        {
            return "(log unreadable)";
        }
    }
}
