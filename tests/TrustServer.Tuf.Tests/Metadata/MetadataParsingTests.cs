using System.Text;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Tests.Metadata;

/// <summary>Envelope and body parsing: typed errors for every kind of bad input, verbatim bytes kept.</summary>
public sealed class MetadataParsingTests
{
    private const string Signature = "{\"keyid\":\"ab\",\"method\":\"ECDSA\",\"sig\":\"AAEC\"}";

    private static SignedEnvelope Parse(string json) => SignedEnvelope.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Parse_KeepsBytesAndLowerCasesMethod()
    {
        var text = "{\"signed\":{\"_type\":\"Targets\",\"expires\":\"2030-01-01T00:00:00.123456789-05:00\",\"version\":3,\"x\":\"a\\u003cb\"},\"signatures\":[" + Signature + "]}";

        var file = Parse(text);

        Assert.Equal(Encoding.UTF8.GetBytes(text), file.Bytes);
        Assert.Equal("Targets", file.Type);
        Assert.Equal(3, file.Version);
        Assert.Equal("2030-01-01T00:00:00.123456789-05:00", file.Expires.Text);
        Assert.Equal(new DateTimeOffset(2030, 1, 1, 5, 0, 0, TimeSpan.Zero).AddTicks(1234567), file.Expires.Instant);
        Assert.Equal("ecdsa", file.Signatures[0].Method);
        Assert.Equal(new byte[] { 0, 1, 2 }, file.Signatures[0].Value);
        Assert.Equal("{\"_type\":\"Targets\",\"expires\":\"2030-01-01T00:00:00.123456789-05:00\",\"version\":3,\"x\":\"a\\u003cb\"}", Encoding.UTF8.GetString(file.SignedSourceBytes.Span));
        Assert.Equal("{\"_type\":\"Targets\",\"expires\":\"2030-01-01T00:00:00.123456789-05:00\",\"version\":3,\"x\":\"a<b\"}", Encoding.UTF8.GetString(file.CanonicalSigned));
    }

    [Fact]
    public void Parse_MissingSignatures_IsEmptyList()
    {
        Assert.Empty(Parse("{\"signed\":{\"_type\":\"Root\",\"version\":1}}").Signatures);
        Assert.Empty(Parse("{\"signed\":{},\"signatures\":null}").Signatures);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"signed\":[]}")]
    [InlineData("{\"signed\":\"x\"}")]
    [InlineData("{\"signed\":{},\"signatures\":{}}")]
    [InlineData("{\"signed\":{},\"signatures\":[1]}")]
    [InlineData("{\"signed\":{},\"signatures\":[{\"keyid\":1}]}")]
    [InlineData("{\"signed\":{},\"signatures\":[{\"sig\":\"***\"}]}")]
    [InlineData("{\"signed\":{\"_type\":1}}")]
    [InlineData("{\"signed\":{\"version\":\"1\"}}")]
    [InlineData("{\"signed\":{\"version\":1.5}}")]
    [InlineData("{\"signed\":{\"version\":1e2}}")]
    [InlineData("{\"signed\":{\"version\":99999999999999999999999}}")]
    [InlineData("{\"signed\":{\"expires\":5}}")]
    [InlineData("{\"signed\":{\"expires\":\"tomorrow\"}}")]
    [InlineData("{\"signed\":{\"expires\":\"2030-02-30T00:00:00Z\"}}")]
    [InlineData("{\"signed\":{\"expires\":\"2030-01-01 00:00:00Z\"}}")]
    [InlineData("{\"signed\":{\"expires\":\"2030-01-01T00:00:00\"}}")]
    [InlineData("{\"signed\":{\"expires\":\"2030-01-01T00:00:00.Z\"}}")]
    [InlineData("{\"signed\":{\"expires\":\"2030-01-01T24:00:00Z\"}}")]
    [InlineData("{\"signed\":{\"expires\":\"2030-01-01T00:00:00+25:00\"}}")]
    [InlineData("{\"signed\":{}} trailing")]
    public void Parse_BadInput_ThrowsTypedError(string json)
    {
        Assert.Throws<TufFormatException>(() => Parse(json));
    }

    [Fact]
    public void Parse_TruncatedFile_AtEveryLength_ThrowsTypedError()
    {
        var text = "{\"signed\":{\"_type\":\"Root\",\"expires\":\"2030-01-01T00:00:00Z\",\"version\":1,\"keys\":{}},\"signatures\":[" + Signature + "]}";
        Parse(text);
        for (var length = 0; length < text.Length; length++)
        {
            var truncated = text[..length];
            Assert.Throws<TufFormatException>(() => Parse(truncated));
        }
    }

    [Fact]
    public void Bodies_WrongMemberTypes_ThrowTypedErrors()
    {
        string[] roots =
        [
            "{\"signed\":{\"_type\":\"Root\",\"version\":1,\"keys\":[]}}",
            "{\"signed\":{\"_type\":\"Root\",\"version\":1,\"roles\":{\"root\":[]}}}",
            "{\"signed\":{\"_type\":\"Root\",\"version\":1,\"roles\":{\"root\":{\"keyids\":\"a\"}}}}",
            "{\"signed\":{\"_type\":\"Root\",\"version\":1,\"roles\":{\"root\":{\"threshold\":\"1\"}}}}",
            "{\"signed\":{\"_type\":\"Root\",\"version\":1,\"consistent_snapshot\":\"no\"}}",
        ];
        foreach (var json in roots)
        {
            Assert.Throws<TufFormatException>(() => RootMetadata.FromEnvelope(Parse(json)));
        }

        string[] targets =
        [
            "{\"signed\":{\"_type\":\"Targets\",\"version\":1,\"targets\":[]}}",
            "{\"signed\":{\"_type\":\"Targets\",\"version\":1,\"targets\":{\"a\":{\"length\":\"6\"}}}}",
            "{\"signed\":{\"_type\":\"Targets\",\"version\":1,\"targets\":{\"a\":{\"hashes\":{\"sha256\":7}}}}}",
            "{\"signed\":{\"_type\":\"Targets\",\"version\":1,\"delegations\":{\"roles\":{}}}}",
            "{\"signed\":{\"_type\":\"Targets\",\"version\":1,\"delegations\":{\"roles\":[{\"name\":5}]}}}",
        ];
        foreach (var json in targets)
        {
            Assert.Throws<TufFormatException>(() => TargetsMetadata.FromEnvelope(Parse(json), "targets"));
        }

        Assert.Throws<TufFormatException>(() => MetaListMetadata.SnapshotFromEnvelope(Parse("{\"signed\":{\"_type\":\"Snapshot\",\"version\":1,\"meta\":[]}}")));
    }

    [Fact]
    public void Root_Structure_ReportsNotaryMessages()
    {
        var error = Assert.Throws<TufFormatException>(() => RootMetadata.FromEnvelope(Parse("{\"signed\":{\"_type\":\"Root\",\"version\":1,\"roles\":{\"root\":{\"keyids\":[],\"threshold\":1}}}}")));
        Assert.Equal("root type metadata invalid: missing targets role specification", error.Message);

        error = Assert.Throws<TufFormatException>(() => RootMetadata.FromEnvelope(Parse("{\"signed\":{\"_type\":\"Targets\",\"version\":1}}")));
        Assert.Equal("root type metadata invalid: expected type Root, not Targets", error.Message);
    }

    [Fact]
    public void Snapshot_Structure_RequiresRootAndTargetsSha256()
    {
        var error = Assert.Throws<TufFormatException>(() => MetaListMetadata.SnapshotFromEnvelope(Parse(
            "{\"signed\":{\"_type\":\"Snapshot\",\"version\":1,\"meta\":{\"root\":{\"hashes\":{\"sha256\":\"" + Convert.ToBase64String(new byte[32]) + "\"}},\"targets\":{\"hashes\":{\"sha512\":\"" + Convert.ToBase64String(new byte[64]) + "\"}}}}}")));
        Assert.Equal("snapshot type metadata invalid: missing targets sha256 checksum information", error.Message);

        error = Assert.Throws<TufFormatException>(() => MetaListMetadata.SnapshotFromEnvelope(Parse(
            "{\"signed\":{\"_type\":\"Snapshot\",\"version\":1,\"meta\":{\"root\":{\"hashes\":{\"sha256\":\"AAAA\"}},\"targets\":{\"hashes\":{\"sha256\":\"AAAA\"}}}}}")));
        Assert.Equal("snapshot type metadata invalid: invalid root checksum information, sha256 checksum invalid", error.Message);
    }

    [Fact]
    public void Timestamp_Structure_RequiresSnapshotSha256()
    {
        var error = Assert.Throws<TufFormatException>(() => MetaListMetadata.TimestampFromEnvelope(Parse("{\"signed\":{\"_type\":\"Timestamp\",\"version\":1,\"meta\":{}}}")));

        Assert.Equal("timestamp type metadata invalid: missing snapshot sha256 checksum information", error.Message);
    }

    [Fact]
    public void FileMeta_CheckHashes_FollowsNotaryRules()
    {
        var bytes = "file"u8.ToArray();
        var meta = FileMeta.Of(bytes);

        Assert.Null(FileMeta.CheckHashes(bytes, "targets", meta.Hashes));
        Assert.Null(FileMeta.CheckHashes(bytes, "targets", new Dictionary<string, byte[]> { ["sha256"] = meta.Hashes["sha256"], ["md5"] = [1] }));
        Assert.Equal("no checksums for supported algorithms were provided for targets", FileMeta.CheckHashes(bytes, "targets", new Dictionary<string, byte[]> { ["md5"] = [1] }));
        Assert.Equal("no checksums for supported algorithms were provided for targets", FileMeta.CheckHashes(bytes, "targets", null));
        var wrong = new Dictionary<string, byte[]> { ["sha256"] = meta.Hashes["sha256"], ["sha512"] = new byte[64] };
        Assert.Equal("sha512 checksum for targets did not match: expected " + new string('0', 128), FileMeta.CheckHashes(bytes, "targets", wrong));
    }
}
