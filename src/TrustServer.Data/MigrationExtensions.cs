using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

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
            || (await database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false)).Any())
        {
            await database.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
