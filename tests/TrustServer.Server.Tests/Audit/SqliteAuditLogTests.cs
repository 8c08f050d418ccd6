using System.Data.Common;
using Microsoft.Data.Sqlite;
using TrustServer.Compat.Tests.Support;

namespace TrustServer.Server.Tests.Audit;

/// <summary>The SQLite variant (the embedded default).</summary>
public sealed class SqliteAuditServerFixture : AuditServerFixture
{
    private string File => Directory.Combine("data", "trustserver.db");

    public override async Task<DbConnection> OpenConnectionAsync()
    {
        var connection = new SqliteConnection($"Data Source={File}");
        await connection.OpenAsync();
        return connection;
    }

    public override string FailChangefeedInsertsSql(string name, string gun) =>
        $"CREATE TRIGGER {name} BEFORE INSERT ON changefeed WHEN NEW.gun = '{gun}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;";

    public override string RemoveFailureSql(string name) => $"DROP TRIGGER {name};";

    protected override Task<ServerStorage> CreateStorageAsync() => Task.FromResult<ServerStorage>(new ServerStorage.Sqlite(File));
}

/// <summary>The audit log on SQLite.</summary>
public sealed class SqliteAuditLogTests(SqliteAuditServerFixture fixture) : AuditLogTests(fixture), IClassFixture<SqliteAuditServerFixture>;
