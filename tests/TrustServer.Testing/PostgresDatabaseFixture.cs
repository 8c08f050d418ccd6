using Npgsql;
using Xunit;

namespace TrustServer.Testing;

/// <summary>
/// xunit class fixture giving each test class its own fresh, empty database on the process-wide
/// <see cref="PostgresServer"/>; the database is dropped when the class's tests are done. Derive from it to
/// apply a schema in <see cref="InitializeAsync"/>.
/// </summary>
/// <example>
/// <code>
/// public sealed class StoreTests(PostgresDatabaseFixture db) : IClassFixture&lt;PostgresDatabaseFixture&gt;
/// {
///     [Fact]
///     public async Task Works()
///     {
///         await using var connection = await db.OpenConnectionAsync();
///     }
/// }
/// </code>
/// </example>
public class PostgresDatabaseFixture : IAsyncLifetime
{
    private PostgresServer? _server;
    private string? _databaseName;
    private int _dropped;

    /// <summary>The server the database lives on.</summary>
    public PostgresServer Server => _server ?? throw NotInitialized();

    /// <summary>The unique name of this fixture's database.</summary>
    public string DatabaseName => _databaseName ?? throw NotInitialized();

    /// <summary>Connection string to this fixture's database.</summary>
    public string ConnectionString => Server.GetConnectionString(DatabaseName);

    /// <summary>Prefix of the database name; override for readable names in server logs.</summary>
    protected virtual string DatabaseNamePrefix => "trustserver_test";

    /// <summary>Opens a new connection to this fixture's database.</summary>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The open connection; dispose it.</returns>
    public async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = new NpgsqlConnection(ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts the server if needed and creates the database.</summary>
    /// <returns>A task that completes when the database exists.</returns>
    public virtual async Task InitializeAsync()
    {
        _server = await PostgresServer.GetAsync().ConfigureAwait(false);
        _databaseName = await _server.CreateDatabaseAsync(DatabaseNamePrefix).ConfigureAwait(false);
    }

    /// <summary>Drops the database (closing this process's pooled connections to it).</summary>
    /// <returns>A task that completes when the database is gone.</returns>
    public virtual async Task DisposeAsync()
    {
        if (_server is not null && _databaseName is not null && Interlocked.Exchange(ref _dropped, 1) == 0)
        {
            await _server.DropDatabaseAsync(_databaseName).ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    private static InvalidOperationException NotInitialized() =>
        new("PostgresDatabaseFixture is not initialized: use it as an xunit class fixture or await InitializeAsync() first.");
}
