using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Data.Providers;
using TrustServer.Testing.CompiledModels;

namespace TrustServer.Data.Tests;

/// <summary>
/// The metadata contexts run on EF Core compiled models (<c>src/TrustServer.Data/CompiledModels</c>, start-up without
/// model building): each must match the model built from the code, else <c>scripts/ef-compiled-models.sh</c> must be run.
/// </summary>
public sealed class CompiledModelTests
{
    private const string PostgresConnection = "Host=localhost;Database=compiled_model_check";
    private const string SqliteConnection = "Data Source=:memory:";

    [Fact]
    public void PostgresMetadataContext_CompiledModelMatchesTheCode()
    {
        using var compiled = Postgres(compiledModel: true);
        using var fromCode = Postgres(compiledModel: false);
        CompiledModelAssert.Matches(compiled, fromCode);
    }

    [Fact]
    public void SqliteMetadataContext_CompiledModelMatchesTheCode()
    {
        using var compiled = Sqlite(compiledModel: true);
        using var fromCode = Sqlite(compiledModel: false);
        CompiledModelAssert.Matches(compiled, fromCode);
    }

    /// <summary>The check sees a model that differs: the SQLite context's compiled model against the PostgreSQL code.</summary>
    [Fact]
    public void Check_ReportsADifferentModel()
    {
        using var compiled = Sqlite(compiledModel: true);
        using var fromCode = Postgres(compiledModel: false);
        var differences = CompiledModelAssert.Differences(compiled, fromCode);
        Assert.Contains("only in the code's model: TufFileEntity.CreatedAt: store type timestamp with time zone, converter none", differences);
        Assert.Contains("only in the compiled model: TufFileEntity.CreatedAt: store type TEXT, converter UtcTextConverter", differences);
        Assert.Contains(differences, d => d.StartsWith("only in the code's model: Model: > EntityType: TufFileEntity > Properties: > Id ", StringComparison.Ordinal) && d.Contains("Npgsql:", StringComparison.Ordinal));
        var failure = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => CompiledModelAssert.Matches(compiled, fromCode));
        Assert.Contains("run scripts/ef-compiled-models.sh", failure.Message, StringComparison.Ordinal);
    }

    /// <summary>The store's contexts are the compiled ones, and the migrations still apply (model built from code there).</summary>
    [Fact]
    public async Task Store_UsesTheCompiledModel_AndMigratesAnEmptyDatabase()
    {
        var directory = Directory.CreateTempSubdirectory("trustserver-compiled-model");
        try
        {
            await using var services = StoreServices.Create(StorageProvider.Sqlite, $"Data Source={Path.Combine(directory.FullName, "metadata.db")}");
            await services.MigrateMetadataDatabaseAsync();
            await using var db = await services.GetRequiredService<IMetadataDbContextFactory>().CreateAsync(CancellationToken.None);
            Assert.Same(CompiledModels.Sqlite.SqliteMetadataDbContextModel.Instance, db.Model);
            Assert.Empty(await db.Database.GetPendingMigrationsAsync());
            Assert.Equal(0, await db.TufFiles.CountAsync());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    private static PostgresMetadataDbContext Postgres(bool compiledModel)
    {
        var builder = new DbContextOptionsBuilder<PostgresMetadataDbContext>();
        PostgresMetadataDbContext.Configure(builder, PostgresConnection, compiledModel);
        return new PostgresMetadataDbContext(builder.Options);
    }

    private static SqliteMetadataDbContext Sqlite(bool compiledModel)
    {
        var builder = new DbContextOptionsBuilder<SqliteMetadataDbContext>();
        SqliteMetadataDbContext.Configure(builder, SqliteConnection, compiledModel);
        return new SqliteMetadataDbContext(builder.Options);
    }
}
