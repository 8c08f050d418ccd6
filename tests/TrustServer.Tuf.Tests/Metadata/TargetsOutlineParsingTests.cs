using System.Text;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Tests.Metadata;

/// <summary>
/// <see cref="TargetsMetadata.FromEnvelope"/> reads a fresh envelope member by member from its outline, and one whose
/// <c>signed</c> tree is built from the tree: both must give the same targets, delegations and errors.
/// </summary>
public sealed class TargetsOutlineParsingTests
{
    private const string Head = "\"_type\":\"Targets\",\"expires\":\"2030-01-01T00:00:00Z\",\"version\":2";
    private const string Delegations = "\"delegations\":{\"keys\":{},\"roles\":[]}";

    public static TheoryData<string> Bodies => new()
    {
        $"{{{Head},{Delegations},\"targets\":{{\"b\":{{\"hashes\":{{\"sha256\":\"AA==\"}},\"length\":1}},\"a\":{{\"custom\":{{\"x\":[1]}},\"hashes\":{{\"sha512\":\"AQ==\",\"md5\":\"AA==\"}},\"length\":2}}}}}}",
        $"{{{Head},{Delegations}}}", // no targets member
        $"{{{Head},\"targets\":null}}",
        $"{{{Head},\"targets\":{{}}}}",
        $"{{{Head},\"targets\":\"x\"}}",
        $"{{{Head},\"targets\":[]}}",
        $"{{{Head},\"targets\":7}}",
        $"{{{Head},\"targets\":{{\"a\":{{\"length\":\"1\"}}}}}}",
        $"{{{Head},\"targets\":{{\"a\":{{\"length\":1.5}}}}}}",
        $"{{{Head},\"targets\":{{\"a\":{{\"hashes\":{{\"sha256\":\"not base64\"}}}}}}}}",
        $"{{{Head},\"targets\":{{\"a\":[]}}}}",
        $"{{{Head},\"targets\":{{\"a\":{{\"length\":\"bad\"}},\"b\":{{\"length\":1}},\"a\":{{\"length\":3}}}}}}", // duplicate: the last one counts
        $"{{{Head},\"targets\":{{\"a\":{{\"length\":1}}}},\"targets\":{{\"b\":{{\"length\":2}}}}}}", // duplicate member
        $"{{{Head},\"targets\":{{\"x\\\\\\\"y\\u00e9\":{{\"length\":1}}}}}}",
        $"{{{Head},\"targets\":{{}},\"delegations\":{{\"keys\":{{}},\"roles\":[{{\"name\":\"targets/a\",\"keyids\":[],\"threshold\":1,\"paths\":[\"\"]}}]}}}}",
        $"{{{Head},\"targets\":{{}},\"delegations\":7}}",
        $"{{\"_type\":\"Root\",\"expires\":\"2030-01-01T00:00:00Z\",\"version\":2,\"targets\":{{}}}}",
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void FromEnvelope_OutlineAndTree_SameTargetsDelegationsAndErrors(string body)
    {
        var bytes = Encoding.UTF8.GetBytes($"{{\"signed\":{body},\"signatures\":[]}}");
        var fresh = SignedEnvelope.Parse(bytes);
        var withTree = SignedEnvelope.Parse(bytes);
        Assert.NotNull(withTree.Signed);

        var fromOutline = Read(fresh);
        var fromTree = Read(withTree);

        Assert.Equal(fromTree, fromOutline);
    }

    [Fact]
    public void FromEnvelope_FreshEnvelope_NeverBuildsTheSignedTree()
    {
        var envelope = SignedEnvelope.Parse(Encoding.UTF8.GetBytes($"{{\"signed\":{{{Head},{Delegations},\"targets\":{{\"a\":{{\"hashes\":{{\"sha256\":\"AA==\"}},\"length\":1}}}}}},\"signatures\":[]}}"));

        var targets = TargetsMetadata.FromEnvelope(envelope, "targets");

        Assert.Equal(1, Assert.Single(targets.Targets).Value.Length);
        Assert.False(envelope.HasSignedTree);
    }

    // Everything FromEnvelope yields, as comparable text: targets in order with their fields, delegations, or the error.
    private static string Read(SignedEnvelope envelope)
    {
        try
        {
            var metadata = TargetsMetadata.FromEnvelope(envelope, "targets");
            var text = new StringBuilder();
            foreach (var (name, meta) in metadata.Targets)
            {
                text.Append(name).Append('=').Append(meta.Length).Append(' ')
                    .Append(string.Join(",", meta.Hashes.Select(h => h.Key + ":" + Convert.ToHexString(h.Value))))
                    .Append(' ').Append(meta.Custom is null ? "-" : Encoding.UTF8.GetString(CanonicalJson.Encode(meta.Custom))).Append(';');
            }

            text.Append(" keys ").Append(string.Join(",", metadata.DelegationKeys.Keys));
            text.Append(" roles ").Append(string.Join(",", metadata.DelegationRoles.Select(r => $"{r.Name}/{r.Threshold}/{string.Join('+', r.Paths)}")));
            return text.ToString();
        }
        catch (TufFormatException e)
        {
            return "error: " + e.Message;
        }
    }
}
