// The side-by-side benchmark of issue 7 (bench/run.sh). `c0 ...` runs the control endpoint (a child process).
using TrustServer.Bench;

if (args.Length > 0 && args[0] == "c0")
{
    return await ControlEndpoint.RunAsync(args[1..]);
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync("bench: " + ex.Message + "\n\n" + BenchOptions.Usage);
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl-C: stop measuring and clean up; a second one kills the process (children die with their watchdogs).
    e.Cancel = !cancellation.IsCancellationRequested;
    Console.Error.WriteLine("bench: interrupted, stopping child processes ...");
    cancellation.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcess.KillAll();

try
{
    if (options.RunImport)
    {
        return await ImportBench.RunAsync(options, cancellation.Token);
    }

    await BenchRunner.RunAsync(options, cancellation.Token);
    return 0;
}
catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("bench: interrupted.");
    return 130;
}
catch (Exception ex)
{
    await Console.Error.WriteLineAsync("bench: failed: " + ex);
    return 1;
}
finally
{
    ChildProcess.KillAll();
}
