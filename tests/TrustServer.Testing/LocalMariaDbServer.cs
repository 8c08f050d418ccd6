using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MySqlConnector;

namespace TrustServer.Testing;

/// <summary>
/// A private MariaDB server started from the installed binaries (Debian package <c>mariadb-server</c>):
/// <c>mariadb-install-db</c> into a temp directory, then <c>mariadbd</c> on a free 127.0.0.1 port with its socket,
/// pid and log files in that directory. No system configuration is read (<c>--no-defaults</c>) and the package's
/// own service is neither needed nor touched. Killed and deleted on dispose (and by a watchdog if the test process
/// dies hard). Durability is off (test data only). Session time zone UTC, server charset utf8mb4.
/// </summary>
/// <example>
/// <code>
/// await using var mariadb = await LocalMariaDbServer.StartAsync();
/// var database = await mariadb.CreateDatabaseAsync("notaryserver");
/// await using var connection = new MySqlConnection(database.ConnectionString);
/// // notary-server config: storage { backend: "mysql", db_url: database.NotaryDsn }
/// </code>
/// </example>
public sealed class LocalMariaDbServer : IAsyncDisposable, IDisposable
{
    /// <summary>The Debian package with <c>mariadbd</c> and <c>mariadb-install-db</c>.</summary>
    public const string DebianPackage = "mariadb-server";

    private const string AdminUser = "trustserver_admin";
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private readonly TemporaryDirectory _directory;
    private readonly string _adminPassword;
    private readonly StringBuilder _output = new();
    private Process? _process;
    private int _disposed;

    private LocalMariaDbServer(TemporaryDirectory directory, string adminPassword)
    {
        _directory = directory;
        _adminPassword = adminPassword;
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary>MySqlConnector connection string of an administrator (all privileges, grant option); no database selected.</summary>
    public string AdminConnectionString => new MySqlConnectionStringBuilder
    {
        Server = "127.0.0.1",
        Port = (uint)Port,
        UserID = AdminUser,
        Password = _adminPassword,
        Pooling = false,
    }.ConnectionString;

    /// <summary>The server's error log (start-up messages, warnings), for diagnostics.</summary>
    public string Log
    {
        get
        {
            var file = LogFile;
            string text;
            try
            {
                text = File.Exists(file) ? File.ReadAllText(file) : "(no log)";
            }
            catch (IOException ex)
            {
                text = $"(log not readable: {ex.Message})";
            }

            lock (_output)
            {
                return _output.Length == 0 ? text : text + "\n--- stdout/stderr ---\n" + _output;
            }
        }
    }

    /// <summary>The temp directory holding data, socket, pid and log files.</summary>
    internal string RootDirectory => _directory.Path;

    private string DataDirectory => _directory.Combine("data");

    private string LogFile => _directory.Combine("mariadb.err");

    /// <summary>Finds <c>mariadbd</c> (PATH, /usr/sbin, /usr/bin).</summary>
    /// <returns>The absolute path.</returns>
    /// <exception cref="InvalidOperationException">Not installed; the message names the Debian package.</exception>
    public static string FindServerExecutable() =>
        ExecutableLocator.Find("mariadbd", "/usr/sbin", "/usr/bin") ?? throw NotInstalled("mariadbd");

    /// <summary>Creates a data directory, starts the server and waits until it accepts the administrator.</summary>
    /// <param name="cancellationToken">Cancels start-up (the server is killed and its directory removed).</param>
    /// <returns>The running server; dispose it to kill it and delete its data.</returns>
    /// <exception cref="InvalidOperationException">MariaDB is not installed or did not start; the message says why.</exception>
    public static async Task<LocalMariaDbServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var mariadbd = FindServerExecutable();
        var installDb = ExecutableLocator.Find("mariadb-install-db", "/usr/bin", "/usr/sbin") ?? throw NotInstalled("mariadb-install-db");

        // /tmp keeps the socket path short (Unix sockets are limited to 108 bytes).
        var server = new LocalMariaDbServer(new TemporaryDirectory("mariadb", "/tmp"), Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
        try
        {
            await server.InitializeDataDirectoryAsync(installDb, cancellationToken).ConfigureAwait(false);
            await server.StartServerAsync(mariadbd, cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates an empty database (utf8mb4) and a user with all privileges on it (only), reachable from 127.0.0.1.
    /// </summary>
    /// <param name="namePrefix">Readable prefix of the database name; reduced to [a-z0-9_].</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The database with its credentials and connection strings.</returns>
    public async Task<MariaDbDatabase> CreateDatabaseAsync(string namePrefix = "trustserver_test", CancellationToken cancellationToken = default)
    {
        var suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var prefix = Sanitize(namePrefix);
        var name = $"{prefix[..Math.Min(prefix.Length, 48)]}_{suffix}";
        var user = $"u_{suffix}";
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        await ExecuteAdminAsync(
            [
                $"CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
                $"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'",
                $"GRANT ALL PRIVILEGES ON `{name}`.* TO '{user}'@'127.0.0.1'",
            ],
            cancellationToken).ConfigureAwait(false);
        return new MariaDbDatabase(name, user, password, Port);
    }

    /// <summary>Drops a database and its user (made by <see cref="CreateDatabaseAsync"/>), after closing this process's
    /// pooled connections to it; missing ones are ignored.</summary>
    /// <param name="database">The database.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task that completes when both are gone.</returns>
    public async Task DropDatabaseAsync(MariaDbDatabase database, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);
        if (database.Name != Sanitize(database.Name) || database.User != Sanitize(database.User))
        {
            throw new ArgumentException($"'{database.Name}' is not a database created by this class.", nameof(database));
        }

        await using (var pooled = new MySqlConnection(database.ConnectionString))
        {
            await MySqlConnection.ClearPoolAsync(pooled, cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAdminAsync([$"DROP DATABASE IF EXISTS `{database.Name}`", $"DROP USER IF EXISTS '{database.User}'@'127.0.0.1'"], cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Kills the server and deletes its directory.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_process is not null)
        {
            ProcessRunner.KillAndDispose(_process);
        }

        _directory.Dispose();
    }

    /// <summary>Kills the server and deletes its directory.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static InvalidOperationException NotInstalled(string tool) =>
        new($"MariaDB is not installed ('{tool}' not found on PATH, /usr/sbin or /usr/bin). Install the Debian package "
            + $"'{DebianPackage}': `apt-get update && apt-get install -y {DebianPackage}` — scripts/test.sh does this. "
            + "The tests start their own private server; the package's service need not run.");

    private static string Sanitize(string value)
    {
        var text = new StringBuilder();
        foreach (var c in value.ToLowerInvariant())
        {
            text.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' ? c : '_');
        }

        return text.Length == 0 ? "d" : text.ToString();
    }

    // Options for both the bootstrap and the server: no system config, fast and small, test data only.
    private string[] CommonOptions() =>
    [
        "--no-defaults",
        $"--datadir={DataDirectory}",

        // Its own temporary directory: with the default (/tmp) an install running beside other tests once failed on a
        // temporary table file that had gone from /tmp ("Could not remove temporary table", "Unknown table
        // 'mysql.tmp_user_sys'").
        $"--tmpdir={TemporaryFilesDirectory}",
        .. Environment.IsPrivilegedProcess ? new[] { "--user=root" } : [],
        "--skip-log-bin",
        "--innodb-log-file-size=8M",
        "--innodb-buffer-pool-size=64M",
        "--innodb-flush-log-at-trx-commit=0",
        "--innodb-doublewrite=0",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_general_ci",
    ];

    private string TemporaryFilesDirectory => _directory.Combine("tmp");

    private async Task InitializeDataDirectoryAsync(string installDb, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(TemporaryFilesDirectory);
        var result = await ProcessRunner.RunAsync(
            installDb,
            [.. CommonOptions(), "--auth-root-authentication-method=normal", "--skip-test-db"],
            StartupTimeout,
            workingDirectory: _directory.Path,
            environment: [new("LC_ALL", "C")],
            cancellationToken: cancellationToken).ConfigureAwait(false);
        result.EnsureSuccess();

        // Runs at every start: the administrator the tests connect as over TCP (root is only on the socket).
        await File.WriteAllTextAsync(
            _directory.Combine("init.sql"),
            $"CREATE USER IF NOT EXISTS '{AdminUser}'@'127.0.0.1' IDENTIFIED BY '{_adminPassword}';\n"
            + $"GRANT ALL PRIVILEGES ON *.* TO '{AdminUser}'@'127.0.0.1' WITH GRANT OPTION;\n",
            cancellationToken).ConfigureAwait(false);
    }

    private async Task StartServerAsync(string mariadbd, CancellationToken cancellationToken)
    {
        var failures = new StringBuilder();

        // The free port can be taken by someone else before the server binds it: retry with a new one.
        for (var attempt = 1; attempt <= 5; attempt++)
        {
            var port = TestPorts.GetFreeTcpPort();
            var startInfo = new ProcessStartInfo(mariadbd)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = _directory.Path,
            };
            string[] arguments =
            [
                .. CommonOptions(),
                "--bind-address=127.0.0.1",
                $"--port={port.ToString(CultureInfo.InvariantCulture)}",
                $"--socket={_directory.Combine("mariadb.sock")}",
                $"--pid-file={_directory.Combine("mariadb.pid")}",
                $"--log-error={LogFile}",
                $"--init-file={_directory.Combine("init.sql")}",
                "--skip-name-resolve",
                "--default-time-zone=+00:00",
                "--max-connections=300",
            ];
            foreach (var argument in arguments)
            {
                startInfo.ArgumentList.Add(argument);
            }

            var process = new Process { StartInfo = startInfo };
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.Start();
            _process = process;
            Port = port;

            // Kill an orphaned server and remove its data if the test process dies hard.
            var pid = process.Id.ToString(CultureInfo.InvariantCulture);
            ExitWatchdog.Start(
                $"if grep -q {ExitWatchdog.Quote(DataDirectory)} /proc/{pid}/cmdline 2>/dev/null; then kill -9 {pid}; fi; "
                + $"rm -rf {ExitWatchdog.Quote(_directory.Path)}");
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            process.StandardInput.Close();

            var problem = await WaitUntilAcceptingAsync(process, cancellationToken).ConfigureAwait(false);
            if (problem is null)
            {
                return;
            }

            ProcessRunner.KillTree(process);
            process.Dispose();
            _process = null;
            var log = Log;
            failures.Append(CultureInfo.InvariantCulture, $"attempt {attempt} on port {port}: {problem}\n--- log ---\n{log}\n");
            if (!log.Contains("Address already in use", StringComparison.OrdinalIgnoreCase)
                && !log.Contains("Do you already have another server running on port", StringComparison.OrdinalIgnoreCase))
            {
                break;
            }

            File.Delete(LogFile);
        }

        throw new InvalidOperationException($"Could not start a private MariaDB server ({mariadbd}):\n{failures}");
    }

    /// <returns>Null once the administrator can connect; otherwise why not.</returns>
    private async Task<string?> WaitUntilAcceptingAsync(Process process, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var lastProblem = "no answer yet";
        while (stopwatch.Elapsed < StartupTimeout)
        {
            if (process.HasExited)
            {
                process.WaitForExit();
                return $"mariadbd exited with code {process.ExitCode.ToString(CultureInfo.InvariantCulture)}";
            }

            try
            {
                await using var connection = new MySqlConnection(AdminConnectionString);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return null;
            }
            catch (MySqlException ex)
            {
                lastProblem = ex.Message;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        return $"not accepting connections after {StartupTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s ({lastProblem})";
    }

    private async Task ExecuteAdminAsync(IEnumerable<string> statements, CancellationToken cancellationToken)
    {
        await using var connection = new MySqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        foreach (var statement in statements)
        {
            await using var command = new MySqlCommand(statement, connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Append(line).Append('\n');
            }
        }
    }
}

/// <summary>A database on a <see cref="LocalMariaDbServer"/> with its own user (all privileges on it only).</summary>
/// <param name="Name">Database name.</param>
/// <param name="User">User name (host 127.0.0.1).</param>
/// <param name="Password">The user's password.</param>
/// <param name="Port">The server's port on 127.0.0.1.</param>
public sealed record MariaDbDatabase(string Name, string User, string Password, int Port)
{
    /// <summary>MySqlConnector connection string as <see cref="User"/> to this database.</summary>
    public string ConnectionString => new MySqlConnectionStringBuilder
    {
        Server = "127.0.0.1",
        Port = (uint)Port,
        UserID = User,
        Password = Password,
        Database = Name,
    }.ConnectionString;

    /// <summary>The Go driver's DSN notary-server/notary-signer take as <c>storage.db_url</c>:
    /// <c>user:pass@tcp(127.0.0.1:port)/db?parseTime=True</c>.</summary>
    public string NotaryDsn => NotaryServerSchema.NotaryDbUrl(NotaryDatabaseProvider.MySql, ConnectionString);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} (user {User}) on 127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>xunit class/collection fixture running one <see cref="LocalMariaDbServer"/>.</summary>
public sealed class LocalMariaDbFixture : Xunit.IAsyncLifetime
{
    private LocalMariaDbServer? _server;

    /// <summary>The running server.</summary>
    public LocalMariaDbServer Server => _server ?? throw new InvalidOperationException("The fixture is not initialized.");

    /// <summary>Starts the server.</summary>
    /// <returns>A task that completes when it accepts connections.</returns>
    public async Task InitializeAsync() => _server = await LocalMariaDbServer.StartAsync().ConfigureAwait(false);

    /// <summary>Kills the server and deletes its data.</summary>
    /// <returns>A completed task.</returns>
    public Task DisposeAsync()
    {
        _server?.Dispose();
        return Task.CompletedTask;
    }
}
