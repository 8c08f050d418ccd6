using System.Globalization;
using System.Text;

namespace TrustServer.Testing;

/// <summary>The outcome of an external command run by the test machinery (notary CLI, pg_ctl, ...).</summary>
/// <param name="CommandLine">The command line, for messages (arguments joined by spaces, not shell-quoted).</param>
/// <param name="ExitCode">The exit code; meaningless when <paramref name="TimedOut"/> is true.</param>
/// <param name="StandardOutput">Everything the process wrote to stdout.</param>
/// <param name="StandardError">Everything the process wrote to stderr.</param>
/// <param name="TimedOut">True when the process tree was killed because it exceeded its timeout.</param>
/// <param name="Duration">Wall-clock time from start to exit (or kill).</param>
public sealed record ProcessResult(
    string CommandLine,
    int ExitCode,
    string StandardOutput,
    string StandardError,
    bool TimedOut,
    TimeSpan Duration)
{
    /// <summary>True when the process exited by itself with code 0.</summary>
    public bool Succeeded => !TimedOut && ExitCode == 0;

    /// <summary>Throws <see cref="ProcessFailedException"/> (with all output) unless <see cref="Succeeded"/>.</summary>
    /// <returns>This result, for chaining.</returns>
    public ProcessResult EnsureSuccess() => Succeeded ? this : throw new ProcessFailedException(this);

    /// <summary>A multi-line description with the command, exit status and both output streams.</summary>
    /// <returns>The description.</returns>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"$ {CommandLine}\n");
        text.Append(TimedOut
            ? FormattableString.Invariant($"=> TIMED OUT after {Duration.TotalSeconds:F1} s (process tree killed)\n")
            : FormattableString.Invariant($"=> exit code {ExitCode} after {Duration.TotalSeconds:F1} s\n"));
        text.Append("--- stdout ---\n").Append(StandardOutput);
        if (StandardOutput.Length > 0 && !StandardOutput.EndsWith('\n'))
        {
            text.Append('\n');
        }

        text.Append("--- stderr ---\n").Append(StandardError);
        return text.ToString();
    }
}

/// <summary>Thrown when an external command exits with a non-zero code or times out.</summary>
public sealed class ProcessFailedException : Exception
{
    /// <summary>Creates the exception from the failed result; the message holds the full output.</summary>
    /// <param name="result">The failed run.</param>
    public ProcessFailedException(ProcessResult result)
        : base($"Command failed:\n{result}")
    {
        Result = result;
    }

    /// <summary>The failed run.</summary>
    public ProcessResult Result { get; }
}
