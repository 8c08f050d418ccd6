using System.Net;
using System.Security.Cryptography;
using System.Text;
using TrustServer.Server.Tests.Support;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Server.Tests.Notary;

/// <summary>The publish path end to end on the embedded default (SQLite, embedded signer), in-process.</summary>
public sealed class PublishPathTests(SqliteServerFixture fixture) : IClassFixture<SqliteServerFixture>
{
    [Fact]
    public async Task Init_ServesTheUploadedBytesAndAServerSignedTimestamp()
    {
        using var repo = await ServerRepository.CreateAsync(fixture.Http, "example.com/publish/init");
        var targets = await repo.InitializeAsync();

        Assert.Equal(repo.Root, await (await repo.GetAsync("root.json")).Content.ReadAsByteArrayAsync());
        Assert.Equal(targets, await (await repo.GetAsync("targets.json")).Content.ReadAsByteArrayAsync());
        var snapshot = await (await repo.GetAsync("snapshot.json")).Content.ReadAsByteArrayAsync();
        var timestamp = MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(await (await repo.GetAsync("timestamp.json")).Content.ReadAsByteArrayAsync()));
        Assert.Equal(1, timestamp.Version);
        Assert.Equal(SHA256.HashData(snapshot), timestamp.Meta["snapshot"].Hashes["sha256"]);
        var root = RootMetadata.FromEnvelope(SignedEnvelope.Parse(repo.Root));
        Assert.Null(TrustServer.Tuf.Validation.ThresholdVerifier.Verify(timestamp.Envelope, root.GetBaseRole("timestamp")));
    }

    [Fact]
    public async Task NextVersion_IsServedAtOnceByEveryUrl()
    {
        using var repo = await ServerRepository.CreateAsync(fixture.Http, "example.com/publish/next");
        var first = await repo.InitializeAsync();
        Assert.Equal(first, await (await repo.GetAsync("targets.json")).Content.ReadAsByteArrayAsync()); // now cached

        var second = repo.Targets(2, "v2");
        var response = await repo.PublishAsync(("targets", second), ("snapshot", repo.Snapshot(2, second)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(second, await (await repo.GetAsync("targets.json")).Content.ReadAsByteArrayAsync());
        Assert.Equal(second, await (await repo.GetAsync("2.targets.json")).Content.ReadAsByteArrayAsync());
        Assert.Equal(first, await (await repo.GetAsync("1.targets.json")).Content.ReadAsByteArrayAsync());
        Assert.Equal(first, await (await repo.GetAsync($"targets.{Convert.ToHexStringLower(SHA256.HashData(first))}.json")).Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task SameVersionAgain_Answers400Version_AndKeepsTheStoredFiles()
    {
        using var repo = await ServerRepository.CreateAsync(fixture.Http, "example.com/publish/version");
        var stored = await repo.InitializeAsync();

        var again = repo.Targets(1, "other");
        var response = await repo.PublishAsync(("targets", again), ("snapshot", repo.Snapshot(2, again)));

        await NotaryHttp.AssertNotaryErrorAsync(response, HttpStatusCode.BadRequest, "VERSION");
        Assert.Equal(stored, await (await repo.GetAsync("targets.json")).Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await repo.GetAsync("2.snapshot.json")).StatusCode);
    }

    [Fact]
    public async Task TamperedTargets_Answers400InvalidUpdate_AndStoresNothing()
    {
        using var repo = await ServerRepository.CreateAsync(fixture.Http, "example.com/publish/tampered");
        var stored = await repo.InitializeAsync();

        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(repo.Targets(2, "x")).Replace("\"version\":2", "\"version\":3", StringComparison.Ordinal));
        var response = await repo.PublishAsync(("targets", tampered), ("snapshot", repo.Snapshot(2, tampered)));

        var error = await NotaryHttp.AssertNotaryErrorAsync(response, HttpStatusCode.BadRequest, "INVALID_UPDATE");
        Assert.Equal("ErrBadTargets", error.GetProperty("detail").GetProperty("Name").GetString());
        Assert.Equal(stored, await (await repo.GetAsync("targets.json")).Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await repo.GetAsync("2.snapshot.json")).StatusCode);
    }

    [Fact]
    public async Task Delete_RemovesEveryFile_AndTheRepositoryCanBeCreatedAgain()
    {
        using var repo = await ServerRepository.CreateAsync(fixture.Http, "example.com/publish/delete");
        await repo.InitializeAsync();

        Assert.Equal(HttpStatusCode.OK, (await fixture.Http.DeleteAsync(repo.TufUrl)).StatusCode);

        foreach (var file in new[] { "root.json", "targets.json", "snapshot.json", "timestamp.json", "1.root.json" })
        {
            await NotaryHttp.AssertNotaryErrorAsync(await repo.GetAsync(file), HttpStatusCode.NotFound, "METADATA_NOT_FOUND");
        }

        await repo.InitializeAsync();
        Assert.Equal(repo.Root, await (await repo.GetAsync("root.json")).Content.ReadAsByteArrayAsync());
    }
}
