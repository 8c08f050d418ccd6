using MySqlConnector;
using TrustServer.Testing;

namespace TrustServer.Testing.Tests;

public sealed class LocalMariaDbServerTests(LocalMariaDbFixture fixture) : IClassFixture<LocalMariaDbFixture>
{
    [Fact]
    public async Task CreateDatabase_UserSeesOnlyItsOwnDatabase()
    {
        var first = await fixture.Server.CreateDatabaseAsync("isolation");
        var second = await fixture.Server.CreateDatabaseAsync("isolation");
        Assert.NotEqual(first.Name, second.Name);

        await using (var connection = new MySqlConnection(first.ConnectionString))
        {
            await connection.OpenAsync();
            await Execute(connection, "CREATE TABLE t (x int)");
            await Execute(connection, "INSERT INTO t VALUES (42)");
            var databases = await Query(connection, "SHOW DATABASES");
            Assert.Contains(first.Name, databases);
            Assert.DoesNotContain(second.Name, databases);
        }

        await using (var connection = new MySqlConnection(second.ConnectionString))
        {
            await connection.OpenAsync();
            var denied = await Assert.ThrowsAsync<MySqlException>(() => Query(connection, $"SELECT x FROM `{first.Name}`.t"));
            Assert.Contains("denied", denied.Message, StringComparison.OrdinalIgnoreCase);
        }

        await fixture.Server.DropDatabaseAsync(first);
        var rejected = await Assert.ThrowsAsync<MySqlException>(async () =>
        {
            await using var connection = new MySqlConnection(first.ConnectionString);
            await connection.OpenAsync();
        });
        Assert.Contains("denied", rejected.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Server_ListensOnLoopbackOnly_UtcAndUtf8mb4()
    {
        await using var connection = new MySqlConnection(fixture.Server.AdminConnectionString);
        await connection.OpenAsync();

        Assert.Equal(["127.0.0.1"], await Query(connection, "SELECT @@bind_address"));
        Assert.Equal(["+00:00"], await Query(connection, "SELECT @@time_zone"));
        Assert.Equal(["utf8mb4"], await Query(connection, "SELECT @@character_set_server"));
        Assert.Contains("MariaDB", (await Query(connection, "SELECT version()"))[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotaryDsn_IsTheGoDriverForm()
    {
        var database = await fixture.Server.CreateDatabaseAsync("dsn");

        Assert.Equal(
            $"{database.User}:{database.Password}@tcp(127.0.0.1:{fixture.Server.Port})/{database.Name}?parseTime=True",
            database.NotaryDsn);
        Assert.DoesNotContain(database.Password, database.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispose_KillsTheServerAndRemovesItsData()
    {
        var server = await LocalMariaDbServer.StartAsync();
        var database = await server.CreateDatabaseAsync("gone");
        Assert.Contains("ready for connections", server.Log, StringComparison.Ordinal);
        var directory = server.RootDirectory;
        Assert.True(File.Exists(Path.Combine(directory, "data", "ibdata1")));

        await server.DisposeAsync();

        Assert.False(Directory.Exists(directory));
        await Assert.ThrowsAsync<MySqlException>(async () =>
        {
            await using var connection = new MySqlConnection(database.ConnectionString);
            await connection.OpenAsync();
        });
    }

    private static async Task Execute(MySqlConnection connection, string sql)
    {
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> Query(MySqlConnection connection, string sql)
    {
        await using var command = new MySqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
        {
            values.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }

        return values;
    }
}
