using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using TrustServer.Server;

namespace TrustServer.Compat.Tests.Support;

/// <summary>
/// The real server executable (<c>dotnet TrustServer.Server.dll</c>) as a separate process, as an operator starts it:
/// its stdout and stderr lines are kept as they come; killed (process tree) on dispose.
/// </summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private ServerProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _output.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _errors.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Every stdout line so far.</summary>
    public IReadOnlyList<string> OutputLines => [.. _output];

    /// <summary>Every stderr line so far.</summary>
    public IReadOnlyList<string> ErrorLines => [.. _errors];

    /// <summary>Starts the server in <paramref name="workingDirectory"/> (its content root) with <paramref name="arguments"/>.</summary>
    public static ServerProcess Start(string workingDirectory, string environment, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        startInfo.ArgumentList.Add(typeof(TrustServerHost).Assembly.Location);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["ASPNETCORE_ENVIRONMENT"] = environment;
        startInfo.Environment.Remove("DOTNET_ENVIRONMENT");
        startInfo.Environment.Remove("ASPNETCORE_URLS");
        return new ServerProcess(Process.Start(startInfo) ?? throw new InvalidOperationException("dotnet did not start"));
    }

    /// <summary>Waits until a stdout line satisfies <paramref name="predicate"/>; fails with all output after <paramref name="timeout"/>.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_output.FirstOrDefault(predicate) is { } line)
            {
                return line;
            }

            if (_process.HasExited)
            {
                await Task.Delay(200);
                return _output.FirstOrDefault(predicate) ?? throw new InvalidOperationException($"the server exited ({_process.ExitCode}):\n{Describe()}");
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no such line within {timeout}:\n{Describe()}");
    }

    /// <summary>The URL of the JSON "Now listening on" event (Production logs).</summary>
    public async Task<string> WaitForJsonListeningAsync(TimeSpan timeout)
    {
        var line = await WaitForLineAsync(l => l.Contains("\"ListeningOnAddress\"", StringComparison.Ordinal), timeout);
        using var json = JsonDocument.Parse(line);
        return json.RootElement.GetProperty("address").GetString()!;
    }

    /// <summary>Stdout and stderr, for failure messages.</summary>
    public string Describe() => $"stdout:\n{string.Join('\n', _output)}\nstderr:\n{string.Join('\n', _errors)}";

    /// <summary>Kills the process tree and waits for it (and its output) to end.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit(10_000);
        _process.Dispose();
    }
}
