using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;

namespace TrustServer.Data;

/// <summary>Start-up migration of a database that is usually already current (a restart, a new replica).</summary>
public static class MigrationExtensions
{
    /// <summary>
    /// Applies the pending migrations, if any. Asks the history table first (one query): when every migration of the
    /// assembly is applied, <see cref="RelationalDatabaseFacadeExtensions.MigrateAsync(DatabaseFacade, CancellationToken)"/>
    /// is skipped — it would take the migration lock and build the design-time model to check for model changes
    /// that no migration covers, which was most of a restart's time (issue 19, target 6). An unreachable database
    /// fails here as it did in <c>MigrateAsync</c>; a database with pending migrations is migrated under the lock.
    /// </summary>
    /// <param name="database">The context's database.</param>
    /// <param name="cancellationToken">Cancels the check and the migration.</param>
    /// <returns>A task that completes when the schema is current.</returns>
    public static async Task MigrateIfPendingAsync(this DatabaseFacade database, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);

        // A new database has no history table: asking it for applied migrations would fail, and EF Core logs that
        // failed query as an error before handling it, so the table's existence is checked first.
        var history = database.GetService<IHistoryRepository>();
        if (!await history.ExistsAsync(cancellationToken).ConfigureAwait(false)
            || await HasPendingMigrationsAsync(database, cancellationToken).ConfigureAwait(false))
        {
            await database.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether a migration of the assembly is missing from the history table, read with one plain query. Not
    /// <c>GetPendingMigrationsAsync</c>: EF Core's history repository builds a model of the history table with the
    /// full convention set for its column names, the model building that the compiled models save everywhere else
    /// (issue 19, target 6). <c>MigrationId</c> is the history table's key column in every EF Core version.
    /// </summary>
    private static async Task<bool> HasPendingMigrationsAsync(DatabaseFacade database, CancellationToken cancellationToken)
    {
        var relational = RelationalOptionsExtension.Extract(database.GetService<IDbContextOptions>());
        var sql = database.GetService<ISqlGenerationHelper>();
        var table = sql.DelimitIdentifier(relational.MigrationsHistoryTableName ?? HistoryRepository.DefaultTableName, relational.MigrationsHistoryTableSchema);
        var applied = new HashSet<string>(StringComparer.Ordinal);
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = database.GetDbConnection().CreateCommand();
            command.Transaction = database.CurrentTransaction?.GetDbTransaction();
            command.CommandText = $"SELECT {sql.DelimitIdentifier("MigrationId")} FROM {table}";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(reader.GetString(0));
            }
        }
        catch (DbException)
        {
            // No readable history table (on PostgreSQL the existence check above answered true for a new database in
            // the migration tests; EF Core's own history query copes with that): everything is pending, and
            // MigrateAsync creates the table or reports why it cannot.
            return true;
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }

        return database.GetService<IMigrationsAssembly>().Migrations.Keys.Any(id => !applied.Contains(id));
    }
}
