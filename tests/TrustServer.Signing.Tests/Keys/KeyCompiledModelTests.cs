using Microsoft.EntityFrameworkCore;
using TrustServer.Data;
using TrustServer.Signing.Keys;
using TrustServer.Testing.CompiledModels;

namespace TrustServer.Signing.Tests.Keys;

/// <summary>
/// The key contexts run on EF Core compiled models (<c>src/TrustServer.Signing/Keys/CompiledModels</c>): each must match
/// the model built from the code, else <c>scripts/ef-compiled-models.sh</c> must be run.
/// </summary>
public sealed class KeyCompiledModelTests
{
    [Theory]
    [InlineData(StorageProvider.Postgres, "Host=localhost;Database=compiled_model_check")]
    [InlineData(StorageProvider.Sqlite, "Data Source=:memory:")]
    public void KeyContext_CompiledModelMatchesTheCode(StorageProvider provider, string connectionString)
    {
        using var compiled = new KeyDbContextFactory(provider, connectionString).Create();
        using var fromCode = new KeyDbContextFactory(provider, connectionString, compiledModel: false).Create();
        CompiledModelAssert.Matches(compiled, fromCode);
    }

    /// <summary>The explicit filter that replaced the model's query filter: deleted keys are not read.</summary>
    [Fact]
    public void UndeletedKeys_AreFilteredInTheQuery()
    {
        using var context = new KeyDbContextFactory(StorageProvider.Sqlite, "Data Source=:memory:").Create();
        Assert.Contains("\"deleted_at\" IS NULL", context.PrivateKeys.ToQueryString(), StringComparison.Ordinal);
        Assert.Contains("\"deleted_at\" IS NULL", context.HsmKeys.ToQueryString(), StringComparison.Ordinal);
        Assert.DoesNotContain("deleted_at\" IS NULL", context.AllPrivateKeys.ToQueryString(), StringComparison.Ordinal);
    }
}
