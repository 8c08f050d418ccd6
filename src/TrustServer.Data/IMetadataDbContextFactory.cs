using Microsoft.EntityFrameworkCore;

namespace TrustServer.Data;

/// <summary>Creates contexts of the registered provider as the provider-neutral <see cref="MetadataDbContext"/>.</summary>
internal interface IMetadataDbContextFactory
{
    /// <summary>A new (or pooled) context; dispose it.</summary>
    Task<MetadataDbContext> CreateAsync(CancellationToken cancellationToken);
}

/// <summary>Adapts EF's pooled factory of one provider's context.</summary>
internal sealed class MetadataDbContextFactory<TContext>(IDbContextFactory<TContext> factory) : IMetadataDbContextFactory
    where TContext : MetadataDbContext
{
    public async Task<MetadataDbContext> CreateAsync(CancellationToken cancellationToken) =>
        await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
}
