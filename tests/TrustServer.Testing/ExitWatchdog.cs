using System.Diagnostics;
using System.Globalization;

namespace TrustServer.Testing;

/// <summary>
/// Cleanup that survives a hard kill of the test process: a detached shell (own session, reparented to init, so
/// not part of this process tree) polls this process and runs a cleanup script once it is gone. Normal exits are
/// handled by ProcessExit/Dispose; the script must then be a harmless no-op.
/// </summary>
public static class ExitWatchdog
{
    /// <summary>Starts the watchdog; does nothing where <c>setsid</c> is missing (cleanup then relies on a normal exit).</summary>
    /// <param name="cleanupScript">POSIX shell commands run after this process has exited.</param>
    public static void Start(string cleanupScript)
    {
        var setsid = ExecutableLocator.Find("setsid", "/usr/bin", "/bin");
        if (setsid is null || !File.Exists("/bin/sh"))
        {
            return;
        }

        var script =
            "exec </dev/null >/dev/null 2>&1; " +
            $"while kill -0 {Environment.ProcessId.ToString(CultureInfo.InvariantCulture)} 2>/dev/null; do sleep 2; done; " +
            "cd /; " + cleanupScript;

        // Redirected (not inherited) streams: the test host's stdout must not stay open in the watchdog.
        var startInfo = new ProcessStartInfo(setsid)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-f", "/bin/sh", "-c", script })
        {
            startInfo.ArgumentList.Add(argument);
        }

        try
        {
            using var watchdog = Process.Start(startInfo);
            watchdog?.WaitForExit(TimeSpan.FromSeconds(5)); // setsid -f returns at once after forking.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No watchdog: normal-exit cleanup still applies.
        }
    }

    /// <summary>Single-quotes a value for the POSIX shell.</summary>
    /// <param name="value">Any string.</param>
    /// <returns>The quoted string.</returns>
    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
