using System.Diagnostics;
using System.Runtime;

namespace TrustServer.Server.Hosting;

/// <summary>
/// Timestamps of the start-up phases (issue 19, target 6), in milliseconds since the process started (the runtime's
/// own start-up before <c>Main</c> included), logged once the server listens as Debug events of the category
/// <c>TrustServer.Server.Hosting.StartupTimeline</c> (off by default; <c>bench/run.sh --only startup</c> turns them on),
/// with the methods the JIT compiled in each phase and its time (<see cref="JitInfo"/>, all threads): what ReadyToRun
/// code saves shows there, independent of how busy the machine is.
/// </summary>
internal sealed partial class StartupTimeline
{
    private readonly List<(string Phase, double SinceStartMs, double PhaseMs, long JitMethods, double JitMs)> _marks = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly double _mainMs = SinceProcessStartMs();
    private double _lastMs;
    private long _lastJitMethods = JitInfo.GetCompiledMethodCount();
    private double _lastJitMs = JitInfo.GetCompilationTime().TotalMilliseconds;

    /// <summary>Records that <paramref name="phase"/> ended now (it began where the previous phase ended).</summary>
    public void Mark(string phase)
    {
        var now = _clock.Elapsed.TotalMilliseconds;
        var (jitMethods, jitMs) = (JitInfo.GetCompiledMethodCount(), JitInfo.GetCompilationTime().TotalMilliseconds);
        _marks.Add((phase, _mainMs + now, now - _lastMs, jitMethods - _lastJitMethods, jitMs - _lastJitMs));
        (_lastMs, _lastJitMethods, _lastJitMs) = (now, jitMethods, jitMs);
    }

    /// <summary>Logs the runtime start (process start to <c>Main</c>) and every phase recorded.</summary>
    public void Log(IServiceProvider services)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger<StartupTimeline>();
        if (!logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }

        foreach (var (phase, since, took, jitMethods, jitMs) in _marks.Prepend(("runtime start (process start to Main)", _mainMs, _mainMs, 0, 0)))
        {
            LogPhase(logger, phase, took, since, jitMethods, jitMs);
        }
    }

    // Process start time from /proc (clock-tick resolution, 10 ms); 0 where unavailable.
    private static double SinceProcessStartMs()
    {
        try
        {
            using var self = Process.GetCurrentProcess();
            return Math.Max(0, (DateTime.Now - self.StartTime).TotalMilliseconds);
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            return 0;
        }
    }

    [LoggerMessage(EventId = 1900, Level = LogLevel.Debug, Message = "Start-up phase {Phase}: {PhaseMs:0.0} ms, done {SinceStartMs:0.0} ms after the process started; {JitMethods} methods JIT-compiled in {JitMs:0.0} ms")]
    private static partial void LogPhase(ILogger logger, string phase, double phaseMs, double sinceStartMs, long jitMethods, double jitMs);
}
