using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace TrustServer.Testing;

/// <summary>
/// A private PostgreSQL cluster started from the installed server binaries: initdb into a temp directory, pg_ctl
/// start on a free 127.0.0.1 port with Unix sockets inside that directory, stopped and deleted at process exit.
/// </summary>
/// <remarks>
/// PostgreSQL refuses to run as root, so when this process is root the binaries run as the unprivileged
/// <c>postgres</c> system user (created when missing) through <c>runuser</c> (or <c>setpriv</c>), and the
/// directory is owned by that user. A detached watchdog stops the cluster and removes the directory if this
/// process dies without running its exit handlers (e.g. killed by a test-host timeout).
/// </remarks>
internal sealed class LocalPostgresCluster
{
    private const string ServiceUser = "postgres";
    private const string Superuser = "postgres";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);

    private readonly string _binDirectory;
    private readonly string _rootDirectory;
    private readonly string[] _runAsPrefix;
    private readonly string _password;
    private int _stopped;
    private string? _logFile;

    private LocalPostgresCluster(string binDirectory, string rootDirectory, string[] runAsPrefix, string password)
    {
        _binDirectory = binDirectory;
        _rootDirectory = rootDirectory;
        _runAsPrefix = runAsPrefix;
        _password = password;
    }

    /// <summary>The TCP port on 127.0.0.1; set once the server has started.</summary>
    public int Port { get; private set; }

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Superuser,
        Password = _password,
        Database = "postgres",
    }.ConnectionString;

    public string Description =>
        $"private cluster from {_binDirectory} on 127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)} (data in {_rootDirectory})";

    private string DataDirectory => Path.Combine(_rootDirectory, "data");

    /// <summary>Finds the directory holding initdb and pg_ctl: PATH first, then the highest
    /// /usr/lib/postgresql/&lt;version&gt;/bin.</summary>
    /// <returns>The directory, or null when no server binaries are installed.</returns>
    public static string? FindBinDirectory()
    {
        var onPath = ExecutableLocator.Find("initdb");
        if (onPath is not null)
        {
            // Debian puts only symlinks (or nothing) on PATH; use the real directory so that pg_ctl and postgres
            // come from the same installation.
            var resolved = new FileInfo(onPath).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? onPath;
            var directory = Path.GetDirectoryName(resolved)!;
            if (ExecutableLocator.IsExecutable(Path.Combine(directory, "pg_ctl")))
            {
                return directory;
            }
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (!Directory.Exists(debianRoot))
        {
            return null;
        }

        return Directory.EnumerateDirectories(debianRoot)
            .Select(directory => (Version: ParseVersion(Path.GetFileName(directory)), Bin: Path.Combine(directory, "bin")))
            .Where(candidate => candidate.Version is not null
                && ExecutableLocator.IsExecutable(Path.Combine(candidate.Bin, "initdb"))
                && ExecutableLocator.IsExecutable(Path.Combine(candidate.Bin, "pg_ctl")))
            .OrderByDescending(candidate => candidate.Version)
            .Select(candidate => candidate.Bin)
            .FirstOrDefault();
    }

    public static async Task<LocalPostgresCluster> StartAsync(string binDirectory, CancellationToken cancellationToken)
    {
        var runAsPrefix = Environment.IsPrivilegedProcess ? await PrepareServiceUserAsync(cancellationToken).ConfigureAwait(false) : [];

        // As root, the service user must be able to reach the directory: use /tmp (world-traversable) rather than
        // a TMPDIR that may live under /root.
        var parent = Environment.IsPrivilegedProcess ? "/tmp" : Path.GetTempPath();
        var root = new TemporaryDirectory("trustserver-pg", parent).Path;
        try
        {
            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
            var passwordFile = Path.Combine(root, "pwfile");
            await File.WriteAllTextAsync(passwordFile, password + "\n", cancellationToken).ConfigureAwait(false);
            Directory.CreateDirectory(Path.Combine(root, "sockets"));
            if (runAsPrefix.Length > 0)
            {
                await RunCheckedAsync("chown", ["-R", $"{ServiceUser}:", root], cancellationToken).ConfigureAwait(false);
            }

            var cluster = new LocalPostgresCluster(binDirectory, root, runAsPrefix, password);

            // From here on a hard kill of this process must not leak a running server or the directory.
            cluster.StartWatchdog();
            await cluster.RunAsServiceUserAsync(
                "initdb",
                [
                    "-D", cluster.DataDirectory, "-U", Superuser, $"--pwfile={passwordFile}",
                    // Unix sockets live in a directory only the service user can enter; TCP needs the password.
                    "--auth-local=trust", "--auth-host=scram-sha-256",
                    "--encoding=UTF8", "--locale=C", "--no-sync",
                ],
                cancellationToken).ConfigureAwait(false);
            File.Delete(passwordFile);

            // Test-only settings: durability off for speed, enough connections for parallel test classes.
            var settings = new StringBuilder()
                .Append("\n# trustserver test cluster\n")
                .Append("listen_addresses = '127.0.0.1'\n")
                .Append(CultureInfo.InvariantCulture, $"unix_socket_directories = '{Path.Combine(root, "sockets")}'\n")
                .Append("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
                .Append("max_connections = 300\n");
            await File.AppendAllTextAsync(Path.Combine(cluster.DataDirectory, "postgresql.conf"), settings.ToString(), cancellationToken)
                .ConfigureAwait(false);

            // The free port can be taken by someone else before postgres binds it: retry with a new one.
            var failures = new StringBuilder();
            for (var attempt = 1; attempt <= 5; attempt++)
            {
                var port = TestPorts.GetFreeTcpPort();
                var log = Path.Combine(root, $"postgres-{port.ToString(CultureInfo.InvariantCulture)}.log");
                var result = await cluster.RunAsServiceUserAsync(
                    "pg_ctl",
                    ["-D", cluster.DataDirectory, "-l", log, "-w", "-t", "60", "-o", $"-p {port.ToString(CultureInfo.InvariantCulture)}", "start"],
                    cancellationToken,
                    check: false).ConfigureAwait(false);
                if (result.Succeeded)
                {
                    cluster.Port = port;
                    cluster._logFile = log;
                    cluster.RegisterCleanup();
                    await cluster.WaitUntilAcceptingAsync(cancellationToken).ConfigureAwait(false);
                    return cluster;
                }

                var logText = File.Exists(log) ? await File.ReadAllTextAsync(log, cancellationToken).ConfigureAwait(false) : "(no log)";
                failures.Append(CultureInfo.InvariantCulture, $"attempt {attempt} on port {port}:\n{result}\n--- server log ---\n{logText}\n");
                if (!logText.Contains("could not bind", StringComparison.OrdinalIgnoreCase)
                    && !logText.Contains("could not create any TCP/IP sockets", StringComparison.OrdinalIgnoreCase))
                {
                    break;
                }
            }

            throw new InvalidOperationException($"Could not start a private PostgreSQL cluster from {binDirectory}:\n{failures}");
        }
        catch
        {
            TemporaryDirectory.DeleteQuietly(root);
            throw;
        }
    }

    /// <summary>Stops the server (immediate shutdown: the data is thrown away anyway) and deletes the directory.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        try
        {
            RunAsServiceUserAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "20", "stop"], CancellationToken.None, check: false)
                .GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            // Best effort during process exit.
        }

        TemporaryDirectory.DeleteQuietly(_rootDirectory);
    }

    /// <summary>
    /// Fault injection: stops the server as <c>pg_ctl stop -m fast</c> does (sessions are terminated, connections
    /// refused from then on); the data and the port stay for <see cref="StartServerAsync"/>.
    /// </summary>
    public async Task StopServerAsync(CancellationToken cancellationToken = default) =>
        await RunAsServiceUserAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], cancellationToken).ConfigureAwait(false);

    /// <summary>Starts a server stopped by <see cref="StopServerAsync"/> on the same port; returns once it accepts connections.</summary>
    public async Task StartServerAsync(CancellationToken cancellationToken = default)
    {
        await RunAsServiceUserAsync(
            "pg_ctl",
            ["-D", DataDirectory, "-l", _logFile!, "-w", "-t", "60", "-o", $"-p {Port.ToString(CultureInfo.InvariantCulture)}", "start"],
            cancellationToken).ConfigureAwait(false);
        await WaitUntilAcceptingAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fault injection: <c>pg_ctl restart -m fast</c>; returns once the server accepts connections again.</summary>
    public async Task RestartServerAsync(CancellationToken cancellationToken = default)
    {
        await RunAsServiceUserAsync(
            "pg_ctl",
            ["-D", DataDirectory, "-l", _logFile!, "-m", "fast", "-w", "-t", "60", "-o", $"-p {Port.ToString(CultureInfo.InvariantCulture)}", "restart"],
            cancellationToken).ConfigureAwait(false);
        await WaitUntilAcceptingAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string[]> PrepareServiceUserAsync(CancellationToken cancellationToken)
    {
        var exists = await ProcessRunner.RunAsync("id", ["-u", ServiceUser], CommandTimeout, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        if (!exists.Succeeded)
        {
            var useradd = ExecutableLocator.Find("useradd", "/usr/sbin", "/sbin")
                ?? throw new InvalidOperationException(
                    $"Running as root, PostgreSQL must run as an unprivileged user, but user '{ServiceUser}' does not exist and useradd was not found.");
            var created = await ProcessRunner.RunAsync(
                useradd,
                ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", ServiceUser],
                CommandTimeout,
                cancellationToken: cancellationToken).ConfigureAwait(false);

            // Another test process may have created it at the same moment: only the final state counts.
            var recheck = await ProcessRunner.RunAsync("id", ["-u", ServiceUser], CommandTimeout, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            if (!recheck.Succeeded)
            {
                throw new InvalidOperationException($"Could not create the '{ServiceUser}' user to run PostgreSQL as:\n{created}");
            }
        }

        var runuser = ExecutableLocator.Find("runuser", "/usr/sbin", "/sbin");
        if (runuser is not null)
        {
            return [runuser, "-u", ServiceUser, "--"];
        }

        var setpriv = ExecutableLocator.Find("setpriv", "/usr/bin", "/bin");
        if (setpriv is not null)
        {
            return [setpriv, $"--reuid={ServiceUser}", $"--regid={ServiceUser}", "--init-groups", "--"];
        }

        throw new InvalidOperationException(
            "Running as root, PostgreSQL must run as an unprivileged user, but neither runuser nor setpriv (util-linux) was found.");
    }

    private static async Task RunCheckedAsync(string fileName, string[] arguments, CancellationToken cancellationToken) =>
        (await ProcessRunner.RunAsync(fileName, arguments, CommandTimeout, cancellationToken: cancellationToken).ConfigureAwait(false))
            .EnsureSuccess();

    private static Version? ParseVersion(string text) =>
        Version.TryParse(text.Contains('.', StringComparison.Ordinal) ? text : text + ".0", out var version) ? version : null;

    private async Task<ProcessResult> RunAsServiceUserAsync(string tool, string[] arguments, CancellationToken cancellationToken, bool check = true)
    {
        string[] command = [.. _runAsPrefix, Path.Combine(_binDirectory, tool), .. arguments];

        // The working directory must be accessible to the service user (PostgreSQL tools resolve their own path).
        var result = await ProcessRunner.RunAsync(
            command[0],
            command[1..],
            CommandTimeout,
            workingDirectory: _rootDirectory,
            environment: [new("LC_ALL", "C"), new("LANG", "C")],
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return check ? result.EnsureSuccess() : result;
    }

    private async Task WaitUntilAcceptingAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (NpgsqlException) when (stopwatch.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void RegisterCleanup() => AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();

    /// <summary>Stops the cluster and removes its directory if this process dies without its exit handlers
    /// (after a normal exit the directory is already gone and the script does nothing).</summary>
    private void StartWatchdog()
    {
        var pgCtl = string.Join(' ', [.. _runAsPrefix.Select(ExitWatchdog.Quote), ExitWatchdog.Quote(Path.Combine(_binDirectory, "pg_ctl"))]);
        var data = ExitWatchdog.Quote(DataDirectory);
        ExitWatchdog.Start($"if [ -d {data} ]; then {pgCtl} -D {data} -m immediate stop; fi; rm -rf {ExitWatchdog.Quote(_rootDirectory)}");
    }
}
