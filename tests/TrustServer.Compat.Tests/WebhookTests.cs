using System.Data.Common;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Data.Webhooks;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// Publish webhooks end to end: the real server (PostgreSQL and SQLite), the real notary client making the changes,
/// and a real HTTP receiver that checks the HMAC signature and decodes the CloudEvents as a receiver would.
/// </summary>
public sealed class WebhookTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IDisposable
{
    private const string Secret = "webhook-test-secret-0123456789-abcdefghij";
    private readonly TemporaryDirectory _directory = new("trustserver-webhooks");

    public static TheoryData<string> Providers => new() { "Postgres", "Sqlite" };

    public void Dispose() => _directory.Dispose();

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task PublishRotateDelete_SignedCloudEventsInChangefeedOrder_VisibleInAdminApi(string provider)
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        await using var server = await StartServerAsync(provider, receiver.Url + "/hook?token=not-shown");
        var gun = $"example.com/webhooks/flow-{provider}";
        using var client = server.NewClient();

        await client.RunCheckedAsync(["init", gun, "--publish"]);
        var target = _directory.Combine($"target-{provider}.txt");
        await File.WriteAllTextAsync(target, "hello");
        await client.RunCheckedAsync(["add", gun, "v1", target]);
        await client.RunCheckedAsync(["publish", gun]);
        await client.RunCheckedAsync(["key", "rotate", gun, "snapshot", "-r"]);
        await client.RunCheckedAsync(["delete", gun, "--remote"]);
        await client.RunCheckedAsync(["init", "example.com/elsewhere/" + provider, "--publish"]); // outside every pattern

        var events = await EventuallyAsync(() => receiver.Of(gun), e => e.Count >= 5);
        Assert.Equal(["published", "published", "key-rotated", "published", "deleted"], events.Select(e => e.Type));
        Assert.All(events, e =>
        {
            Assert.True(e.SignatureValid);
            Assert.Equal("/hook", e.Path);
            Assert.Equal(CloudNative.CloudEvents.CloudEventsSpecVersion.V1_0, e.Event.SpecVersion);
            Assert.Equal(gun, e.Event.Subject);
            Assert.Equal("anonymous", e.Data.GetProperty("principal").GetString());
            Assert.Equal(1, e.Attempt);
        });
        Assert.Equal(5, events.Select(e => e.Event.Id).Distinct().Count());

        // Changefeed ids: the publishes' update records and the deletion record, in order.
        var changes = await server.Services.GetRequiredService<IMetadataStore>().GetChangesAsync(gun, 0, 100);
        Assert.Equal(changes.Select(c => c.Id), events.Where(e => e.Type != "key-rotated").Select(e => e.Data.GetProperty("changefeedId").GetInt64()));
        var firstRoles = events[0].Data.GetProperty("roles").EnumerateArray().Select(r => r.GetProperty("role").GetString()).ToList();
        Assert.Contains("root", firstRoles);
        Assert.Contains("timestamp", firstRoles);
        Assert.Equal(changes[0].Version, events[0].Data.GetProperty("roles").EnumerateArray().Single(r => r.GetProperty("role").GetString() == "timestamp").GetProperty("version").GetInt64());
        Assert.Equal("snapshot", events[2].Data.GetProperty("roles")[0].GetProperty("role").GetString());
        Assert.False(string.IsNullOrEmpty(events[2].Data.GetProperty("keyId").GetString()));
        Assert.False(events[2].Data.TryGetProperty("changefeedId", out _));
        Assert.DoesNotContain(receiver.Received, r => r.Gun.StartsWith("example.com/elsewhere/", StringComparison.Ordinal));

        // The admin API: delivered once each, the attempt's status code, the exact payload; the URL without its query.
        var list = await server.Http.GetFromJsonAsync<JsonElement>($"/api/admin/v1/webhooks/events?gun={Uri.EscapeDataString(gun)}");
        Assert.Equal(5, list.GetProperty("total").GetInt64());
        foreach (var item in list.GetProperty("items").EnumerateArray())
        {
            Assert.Equal("delivered", item.GetProperty("status").GetString());
            Assert.Equal(1, item.GetProperty("attempts").GetInt32());
            Assert.Equal(receiver.Url + "/hook", item.GetProperty("endpoint").GetString());
        }

        var newest = list.GetProperty("items")[0];
        var detail = await server.Http.GetFromJsonAsync<JsonElement>($"/api/admin/v1/webhooks/events/{newest.GetProperty("id").GetInt64()}");
        Assert.Equal(events[4].Event.Id, detail.GetProperty("payload").GetProperty("id").GetString());
        var attempt = Assert.Single(detail.GetProperty("attempts").EnumerateArray());
        Assert.Equal(200, attempt.GetProperty("statusCode").GetInt32());
        Assert.Equal(JsonValueKind.Null, attempt.GetProperty("nextAttemptAt").ValueKind);

        var endpoints = await server.Http.GetStringAsync("/api/admin/v1/webhooks/endpoints");
        Assert.DoesNotContain(Secret, endpoints, StringComparison.Ordinal);
        Assert.DoesNotContain("not-shown", endpoints, StringComparison.Ordinal);

        using var missing = await server.Http.GetAsync("/api/admin/v1/webhooks/events/999999999");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        using var bad = await server.Http.GetAsync("/api/admin/v1/webhooks/events?status=bogus");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ReceiverDownThenUp_DeliveredLaterExactlyOnce_InOrderPerGun(string provider)
    {
        var port = TestPorts.GetFreeTcpPort();
        await using var server = await StartServerAsync(provider, $"http://127.0.0.1:{port}/hook");
        var gun = $"example.com/webhooks/down-{provider}";
        using var client = server.NewClient();
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        var target = _directory.Combine($"down-{provider}.txt");
        await File.WriteAllTextAsync(target, "v1");
        await client.RunCheckedAsync(["add", gun, "v1", target]);
        await client.RunCheckedAsync(["publish", gun]);

        // Nothing listens: the first event is retried with backoff; the second waits behind it, untried.
        var outbox = server.Services.GetRequiredService<IWebhookOutbox>();
        var pending = await EventuallyAsync(
            async () => (await outbox.QueryAsync(null, gun, 0, 10)).Items.OrderBy(e => e.Id).ToList(),
            e => e.Count == 2 && e[0].Attempts >= 2);
        Assert.All(pending, e => Assert.Equal(WebhookStatuses.Pending, e.Status));
        Assert.Equal(0, pending[1].Attempts);
        Assert.Null(pending[0].LastStatusCode);
        Assert.NotNull(pending[0].LastError);

        await using var receiver = await WebhookReceiver.StartAsync(Secret, port);
        await EventuallyAsync(async () => (await outbox.QueryAsync(WebhookStatuses.Delivered, gun, 0, 10)).Total, n => n == 2);
        await Task.Delay(1000); // nothing more arrives
        var received = receiver.Of(gun);
        Assert.Equal(2, received.Count);
        Assert.Equal(pending.Select(e => e.EventId), received.Select(r => r.Event.Id));
        Assert.True(received[0].Data.GetProperty("changefeedId").GetInt64() < received[1].Data.GetProperty("changefeedId").GetInt64());
        Assert.True(received[0].Attempt >= 3);
        Assert.All(received, r => Assert.True(r.SignatureValid));

        var (first, attempts) = (await outbox.GetAsync(pending[0].Id)).GetValueOrDefault();
        Assert.Equal(WebhookStatuses.Delivered, first.Status);
        Assert.All(attempts.SkipLast(1), a => Assert.True(a.StatusCode is null && a.Error is not null && a.NextAttemptAt is not null));
        Assert.Equal(200, attempts[^1].StatusCode);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task CommitFails_OutboxRowRolledBackWithTheFiles_RejectedPublishWritesNoEvent(string provider)
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        await using var server = await StartServerAsync(provider, receiver.Url + "/hook");
        var gun = $"example.com/webhooks/rollback-{provider}";

        // The outbox refuses rows: the publish must fail as a whole (files, changefeed and event in one transaction).
        await ExecuteAsync(provider, provider == "Postgres"
            ? """
              CREATE FUNCTION webhook_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$;
              CREATE TRIGGER webhook_test_refuse BEFORE INSERT ON webhook_outbox FOR EACH ROW EXECUTE FUNCTION webhook_test_refuse();
              """
            : "CREATE TRIGGER webhook_test_refuse BEFORE INSERT ON webhook_outbox BEGIN SELECT RAISE(ABORT, 'refused by test'); END;");
        try
        {
            using var client = server.NewClient();
            var result = await client.RunAsync(["init", gun, "--publish"]);
            Assert.NotEqual(0, result.ExitCode);
        }
        finally
        {
            await ExecuteAsync(provider, provider == "Postgres"
                ? "DROP TRIGGER webhook_test_refuse ON webhook_outbox; DROP FUNCTION webhook_test_refuse();"
                : "DROP TRIGGER webhook_test_refuse;");
        }

        var store = server.Services.GetRequiredService<IMetadataStore>();
        Assert.Empty(await store.GetHighestVersionsAsync(gun));
        Assert.Empty(await store.GetChangesAsync(gun, 0, 100));

        // A publish the server rejects (not valid metadata) writes no event either.
        using var content = new MultipartFormDataContent { { new ByteArrayContent("{\"signed\":{}}"u8.ToArray()), "files", "root" } };
        using var rejected = await server.Http.PostAsync($"/v2/{gun}/_trust/tuf/", content);
        Assert.Equal(HttpStatusCode.BadRequest, rejected.StatusCode);

        // Then a good publish is announced, and it is the only event of the GUN.
        using (var client = server.NewClient())
        {
            await client.RunCheckedAsync(["init", gun, "--publish"]);
        }

        var received = await EventuallyAsync(() => receiver.Of(gun), r => r.Count >= 1);
        await Task.Delay(500);
        Assert.Single(receiver.Of(gun));
        Assert.Equal("published", received[0].Type);
        Assert.Equal(1, (await server.Services.GetRequiredService<IWebhookOutbox>().QueryAsync(null, gun, 0, 10)).Total);
    }

    [Fact]
    public async Task ExpiryCrossing_AnnouncedOnceAcrossReplicasAndScans()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        await using var first = await StartServerAsync("Postgres", receiver.Url + "/hook");
        await using var second = await StartServerAsync("Postgres", receiver.Url + "/hook");
        var gun = "example.com/webhooks/expiring";
        var expires = DateTimeOffset.UtcNow.AddDays(20);
        ExpiryCrossing[] crossing = [new(gun, "targets", 3, expires, "30d")];

        // Both replicas' scans find the same crossing at once, and again on later scans: one event.
        var announced = await Task.WhenAll(
            first.Services.GetRequiredService<IWebhookOutbox>().AnnounceExpiringAsync(crossing, DateTimeOffset.UtcNow),
            second.Services.GetRequiredService<IWebhookOutbox>().AnnounceExpiringAsync(crossing, DateTimeOffset.UtcNow));
        Assert.Equal(1, announced.Sum());
        Assert.Equal(0, await first.Services.GetRequiredService<IWebhookOutbox>().AnnounceExpiringAsync(crossing, DateTimeOffset.UtcNow));

        // Entering the next window is a new crossing.
        Assert.Equal(1, await second.Services.GetRequiredService<IWebhookOutbox>().AnnounceExpiringAsync([crossing[0] with { Within = "7d" }], DateTimeOffset.UtcNow));

        var received = await EventuallyAsync(() => receiver.Of(gun), r => r.Count >= 2);
        await Task.Delay(500);
        Assert.Equal(2, receiver.Of(gun).Count);
        Assert.Equal(["30d", "7d"], received.Select(r => r.Data.GetProperty("within").GetString()));
        Assert.All(received, r => Assert.Equal("expiring", r.Type));
        Assert.Equal("system:expiry", received[0].Data.GetProperty("principal").GetString());
        Assert.Equal(3, received[0].Data.GetProperty("roles")[0].GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task ReplicaKilledDuringDelivery_AnotherReplicaDelivers()
    {
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        var firstRequest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var requests = 0;
        receiver.Respond = _ =>
        {
            if (Interlocked.Increment(ref requests) == 1)
            {
                firstRequest.TrySetResult();
                return release.Task; // the first delivery hangs until its replica is gone
            }

            return Task.FromResult(200);
        };

        var passphrase = _directory.Combine("replica-passphrase");
        var hook = receiver.Url + "/hook";

        // Replica A, a separate process, takes the webhooks lease first; then replica B (in this process) starts.
        using var a = StartServerProcess(hook, passphrase, out var aUrl);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(aUrl) };
            await EventuallyAsync(
                async () => { try { return (await http.GetFromJsonAsync<JsonElement>("/api/admin/v1/webhooks/endpoints")).GetProperty("delivering").GetBoolean(); } catch (HttpRequestException) { return false; } },
                delivering => delivering,
                TimeSpan.FromSeconds(60));
            await using var b = await StartServerAsync("Postgres", hook, passphrase);
            Assert.False(b.Services.GetRequiredService<Server.Webhooks.WebhookDispatcher>().Delivering);

            var gun = "example.com/webhooks/killed-replica";
            using var client = b.NewClient();
            await client.RunCheckedAsync(["init", gun, "--publish"]);

            // A sends it (the request hangs), and is killed mid-delivery.
            await firstRequest.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(gun, Assert.Single(receiver.Received).Gun);
            a.Kill(entireProcessTree: true);
            await a.WaitForExitAsync();

            // B takes the lease and delivers; the event is delivered (at least once: A's request never completed).
            var outbox = b.Services.GetRequiredService<IWebhookOutbox>();
            await EventuallyAsync(async () => (await outbox.QueryAsync(WebhookStatuses.Delivered, gun, 0, 10)).Total, n => n == 1, TimeSpan.FromSeconds(30));
            Assert.True(b.Services.GetRequiredService<Server.Webhooks.WebhookDispatcher>().Delivering);
            var received = receiver.Of(gun);
            Assert.Equal(2, received.Count);
            Assert.Equal(received[0].Event.Id, received[1].Event.Id);
            Assert.All(received, r => Assert.True(r.SignatureValid));
            var (_, attempts) = (await outbox.GetAsync((await outbox.QueryAsync(null, gun, 0, 1)).Items[0].Id)).GetValueOrDefault();
            Assert.Equal(200, Assert.Single(attempts).StatusCode); // A never recorded its attempt
        }
        finally
        {
            release.TrySetResult(200);
            if (!a.HasExited)
            {
                a.Kill(entireProcessTree: true);
            }
        }
    }

    private Task<TrustServerInstance> StartServerAsync(string provider, string url, string? passphrase = null) =>
        TrustServerInstance.StartAsync(Storage(provider), WebhookSettings(url), passphraseFile: passphrase);

    private static List<KeyValuePair<string, string?>> WebhookSettings(string url) =>
    [
        new("Webhooks:Endpoints:0:Url", url),
        new("Webhooks:Endpoints:0:Secret", Secret),
        new("Webhooks:Endpoints:0:Events:0", "published,deleted"),
        new("Webhooks:Endpoints:0:Events:1", "key-rotated"),
        new("Webhooks:Endpoints:0:Events:2", "expiring"),
        new("Webhooks:Endpoints:0:GunPattern", "example.com/webhooks/*"),
        new("Webhooks:PollInterval", "00:00:00.2"),
        new("Webhooks:InitialBackoff", "00:00:00.2"),
        new("Webhooks:MaxBackoff", "00:00:00.5"),
        new("Webhooks:Timeout", "00:00:05"),
    ];

    private ServerStorage Storage(string provider) => provider == "Postgres"
        ? new ServerStorage.Postgres(database.ConnectionString)
        : new ServerStorage.Sqlite(_directory.Combine("metadata.db"));

    private async Task ExecuteAsync(string provider, string sql)
    {
        await using DbConnection connection = provider == "Postgres"
            ? await database.OpenConnectionAsync()
            : new SqliteConnection($"Data Source={_directory.Combine("metadata.db")}");
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await connection.OpenAsync();
        }

        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    // The server as its own process (dotnet TrustServer.Server.dll), so that it can be killed.
    private Process StartServerProcess(string hook, string passphrase, out string url)
    {
        var port = TestPorts.GetFreeTcpPort();
        url = $"http://127.0.0.1:{port}";
        var content = _directory.Combine("replica-a");
        Directory.CreateDirectory(content);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = content };
        foreach (var argument in (string[])[typeof(Server.TrustServerHost).Assembly.Location, "--urls", url, "--contentRoot", content])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in new ServerStorage.Postgres(database.ConnectionString).Settings.Concat(WebhookSettings(hook)).Append(new("Signing:PassphraseFile", passphrase)))
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static Task<T> EventuallyAsync<T>(Func<T> read, Func<T, bool> done) => EventuallyAsync(() => Task.FromResult(read()), done);

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? bound = null)
    {
        var deadline = DateTime.UtcNow + (bound ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"not reached within {bound ?? TimeSpan.FromSeconds(30)}: {value}");
            await Task.Delay(100);
        }
    }
}
