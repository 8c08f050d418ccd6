using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using TrustServer.Data.Model;
using TrustServer.Data.Webhooks;

namespace TrustServer.Data;

/// <summary><see cref="IAuditLog"/> on EF Core, in the metadata database.</summary>
internal sealed class EfAuditLog(
    IMetadataDbContextFactory contexts, TimeProvider timeProvider, ILogger<EfAuditLog> logger, IWebhookComposer? webhooks = null) : IAuditLog
{
    public Task RecordAsync(AuditEntry entry, CancellationToken cancellationToken = default) => RecordAsync(entry, null, cancellationToken);

    public async Task RecordAsync(AuditEntry entry, WebhookEvent? webhook, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        AuditEvents.Write(logger, entry);
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var now = EfMetadataStore.NowMicroseconds(timeProvider);
        db.AddAudit(entry, now);
        var messages = webhook is not null && webhooks is not null && webhooks.Wants(webhook.Type)
            ? webhooks.Compose(webhook with { Time = now })
            : [];
        db.AddWebhookMessages(webhook?.Type ?? string.Empty, entry.Gun, messages, now);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        if (messages.Count > 0)
        {
            webhooks!.Committed();
        }
    }

    public async Task<Page<AuditRecord>> QueryAsync(AuditQuery query, int skip, int take, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var rows = db.AuditLog.AsNoTracking();
        if (query.Gun is { } gun)
        {
            rows = rows.Where(a => a.Gun == gun);
        }

        if (query.Principal is { } principal)
        {
            rows = rows.Where(a => a.Principal == principal);
        }

        if (query.Action is { } action)
        {
            rows = rows.Where(a => a.Action == action);
        }

        if (query.From is { } from)
        {
            var since = from.ToUniversalTime();
            rows = rows.Where(a => a.CreatedAt >= since);
        }

        if (query.To is { } to)
        {
            var until = to.ToUniversalTime();
            rows = rows.Where(a => a.CreatedAt < until);
        }

        var total = await rows.LongCountAsync(cancellationToken).ConfigureAwait(false);
        var page = await rows.OrderByDescending(a => a.Id).Skip(skip).Take(take).ToListAsync(cancellationToken).ConfigureAwait(false);
        return new Page<AuditRecord>([.. page.Select(MetadataDbContext.ToRecord)], total);
    }

    // The one statement in the code base that removes audit rows.
    public async Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var before = cutoff.ToUniversalTime();
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var deleted = await db.AuditLog.Where(a => a.CreatedAt < before).OrderBy(a => a.Id).Take(batchSize)
            .ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        if (deleted > 0)
        {
            AuditEvents.RetentionDeleted(logger, deleted, before);
        }

        return deleted;
    }
}
