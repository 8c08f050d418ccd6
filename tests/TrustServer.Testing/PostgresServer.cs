using System.Globalization;
using System.Text;
using Npgsql;
using Testcontainers.PostgreSql;

namespace TrustServer.Testing;

/// <summary>Where the process-wide test PostgreSQL server comes from.</summary>
public enum PostgresServerKind
{
    /// <summary>An existing server named by the <c>TRUSTSERVER_TEST_POSTGRES</c> connection string.</summary>
    External,

    /// <summary>A container started with Testcontainers on a reachable Docker engine.</summary>
    Docker,

    /// <summary>A private cluster started from the installed PostgreSQL binaries (initdb + pg_ctl).</summary>
    LocalCluster,
}

/// <summary>
/// The throwaway PostgreSQL server shared by all tests of one process (one test assembly). Started lazily and
/// once, on first use, from the first source that works: (1) the connection string in
/// <c>TRUSTSERVER_TEST_POSTGRES</c> (a role allowed to CREATE DATABASE); (2) Testcontainers when a Docker engine
/// answers; (3) a private cluster from the installed PostgreSQL binaries. Throws with instructions when none
/// works — tests never skip silently. Use <see cref="PostgresDatabaseFixture"/> to get an isolated database.
/// </summary>
/// <example>
/// <code>
/// var server = await PostgresServer.GetAsync();
/// var name = await server.CreateDatabaseAsync("mytest");
/// await using var connection = new NpgsqlConnection(server.GetConnectionString(name));
/// </code>
/// </example>
public sealed class PostgresServer
{
    /// <summary>Environment variable holding a connection string to an existing server to use instead.</summary>
    public const string ConnectionStringVariable = "TRUSTSERVER_TEST_POSTGRES";

    /// <summary>Docker image used when the server comes from Testcontainers.</summary>
    public const string DockerImage = "postgres:15-alpine";

    private static readonly Lazy<Task<PostgresServer>> Instance = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    private PostgresServer(PostgresServerKind kind, string adminConnectionString, string description)
    {
        Kind = kind;
        AdminConnectionString = adminConnectionString;
        Description = description;
    }

    /// <summary>Which source the server came from.</summary>
    public PostgresServerKind Kind { get; }

    /// <summary>Connection string of a superuser-like role on the server's maintenance database.</summary>
    public string AdminConnectionString { get; }

    /// <summary>Human-readable description of the server (source, address), for diagnostics.</summary>
    public string Description { get; }

    /// <summary>
    /// Returns the process-wide server, starting it on first call. Concurrent callers share one start-up; a failed
    /// start-up is remembered and rethrown to every caller.
    /// </summary>
    /// <returns>The running server.</returns>
    public static Task<PostgresServer> GetAsync() => Instance.Value;

    /// <summary>The connection string for one database on this server (same credentials as the admin one).</summary>
    /// <param name="databaseName">The database.</param>
    /// <returns>The connection string.</returns>
    public string GetConnectionString(string databaseName) =>
        new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = databaseName }.ConnectionString;

    /// <summary>Creates a new, empty, uniquely named database (UTF8, C collation).</summary>
    /// <param name="namePrefix">Readable prefix of the name; lower-cased and reduced to [a-z0-9_].</param>
    /// <param name="cancellationToken">Cancels the creation.</param>
    /// <returns>The new database's name.</returns>
    public async Task<string> CreateDatabaseAsync(string namePrefix = "trustserver_test", CancellationToken cancellationToken = default)
    {
        // PostgreSQL identifiers are at most 63 bytes: up to 50 for the prefix, then 12 random hex digits.
        var prefix = Sanitize(namePrefix);
        var name = $"{prefix[..Math.Min(prefix.Length, 50)]}_{Guid.NewGuid().ToString("N")[..12]}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

        // template0 and an explicit C locale work on any server regardless of its default locale, and nobody can
        // be connected to template0 (concurrent CREATE DATABASE from a busy template1 fails).
        await using var command = new NpgsqlCommand(
            $"CREATE DATABASE \"{name}\" WITH TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
            connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return name;
    }

    /// <summary>Drops a database, disconnecting any remaining sessions first. Missing databases are ignored.</summary>
    /// <param name="databaseName">The database to drop.</param>
    /// <param name="cancellationToken">Cancels the drop.</param>
    /// <returns>A task that completes when the database is gone.</returns>
    public async Task DropDatabaseAsync(string databaseName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(databaseName);
        if (databaseName != Sanitize(databaseName))
        {
            throw new ArgumentException($"'{databaseName}' is not a database name created by this class.", nameof(databaseName));
        }

        // Idle pooled connections of this process would otherwise keep the database busy.
        await using (var pooled = new NpgsqlConnection(GetConnectionString(databaseName)))
        {
            NpgsqlConnection.ClearPool(pooled);
        }

        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (connection.PostgreSqlVersion.Major < 13)
        {
            await using var terminate = new NpgsqlCommand(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @name AND pid <> pg_backend_pid()",
                connection);
            terminate.Parameters.AddWithValue("name", databaseName);
            await terminate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var force = connection.PostgreSqlVersion.Major >= 13 ? " WITH (FORCE)" : string.Empty;
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{databaseName}\"{force}", connection);
        await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether a database of that name exists on the server.</summary>
    /// <param name="databaseName">The database name.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>True when it exists.</returns>
    public async Task<bool> DatabaseExistsAsync(string databaseName, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = @name", connection);
        command.Parameters.AddWithValue("name", databaseName);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0;
    }

    private static async Task<PostgresServer> StartAsync()
    {
        var attempts = new StringBuilder();

        // 1. An explicitly configured server: never fall through, the user asked for this one.
        var configured = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            try
            {
                await using var connection = new NpgsqlConnection(configured);
                await connection.OpenAsync().ConfigureAwait(false);
                var builder = new NpgsqlConnectionStringBuilder(configured);
                return new PostgresServer(
                    PostgresServerKind.External,
                    configured,
                    $"existing server {builder.Host}:{builder.Port.ToString(CultureInfo.InvariantCulture)} from {ConnectionStringVariable}");
            }
            catch (Exception ex) when (ex is NpgsqlException or ArgumentException or InvalidOperationException)
            {
                throw new InvalidOperationException(
                    $"{ConnectionStringVariable} is set, but connecting to that PostgreSQL server failed: {ex.Message}. "
                    + "Fix the connection string (the role needs CREATEDB) or unset the variable.", ex);
            }
        }

        attempts.Append(CultureInfo.InvariantCulture, $"- {ConnectionStringVariable} is not set\n");

        // 2. Docker, only when an engine answers a ping right now.
        var dockerProblem = await DockerProbe.ProbeAsync().ConfigureAwait(false);
        if (dockerProblem is null)
        {
            try
            {
                return await StartContainerAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Any Docker/Testcontainers failure means: try the next source, and report it if that fails too.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                attempts.Append(CultureInfo.InvariantCulture, $"- Docker answered, but starting {DockerImage} with Testcontainers failed: {ex.Message}\n");
            }
        }
        else
        {
            attempts.Append(CultureInfo.InvariantCulture, $"- no Docker engine: {dockerProblem}\n");
        }

        // 3. Installed server binaries.
        var binDirectory = LocalPostgresCluster.FindBinDirectory();
        if (binDirectory is null)
        {
            attempts.Append("- no PostgreSQL server binaries (initdb, pg_ctl) on PATH or under /usr/lib/postgresql/*/bin\n");
            throw new InvalidOperationException(
                "No PostgreSQL server is available for the tests. Tried:\n" + attempts
                + "Fix one of: install the PostgreSQL server binaries (Debian/Ubuntu: `apt-get update && apt-get install -y postgresql`; "
                + "scripts/test.sh does this), start a Docker engine, or set "
                + $"{ConnectionStringVariable} to a connection string of a server where the role may CREATE DATABASE.");
        }

        var cluster = await LocalPostgresCluster.StartAsync(binDirectory, CancellationToken.None).ConfigureAwait(false);
        return new PostgresServer(PostgresServerKind.LocalCluster, cluster.ConnectionString, cluster.Description);
    }

    private static async Task<PostgresServer> StartContainerAsync()
    {
        var container = new PostgreSqlBuilder(DockerImage).Build();
        try
        {
            await container.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            await container.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        // Testcontainers' Ryuk removes the container if this process dies; this handles the normal exit quickly.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => container.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(20));
        var connectionString = new NpgsqlConnectionStringBuilder(container.GetConnectionString()) { Database = "postgres" }.ConnectionString;
        return new PostgresServer(PostgresServerKind.Docker, connectionString, $"Testcontainers {DockerImage} ({container.Hostname}:{container.GetMappedPublicPort(5432).ToString(CultureInfo.InvariantCulture)})");
    }

    private static string Sanitize(string value)
    {
        var text = new StringBuilder();
        foreach (var c in value.ToLowerInvariant())
        {
            text.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' ? c : '_');
        }

        if (text.Length == 0 || char.IsDigit(text[0]))
        {
            text.Insert(0, 'd');
        }

        return text.Length > 63 ? text.ToString(0, 63) : text.ToString();
    }
}
