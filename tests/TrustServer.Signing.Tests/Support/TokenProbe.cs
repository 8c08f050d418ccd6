using System.Text;
using Net.Pkcs11Interop.Common;
using TrustServer.Testing;
using LowLevel = Net.Pkcs11Interop.LowLevelAPI80;

namespace TrustServer.Signing.Tests.Support;

/// <summary>
/// Raw PKCS#11 calls on a token, past the key store, through Pkcs11Interop's low-level API (the module must already
/// be initialized in this process): what a thief with the PIN and a session could ask for.
/// </summary>
internal sealed class TokenProbe : IDisposable
{
    private readonly LowLevel.Pkcs11Library _module;
    private readonly ulong _session;

    public TokenProbe(SoftHsmToken token, ulong slot)
    {
        _module = new LowLevel.Pkcs11Library(token.Library);
        Check(_module.C_OpenSession(slot, (ulong)(CKF.CKF_SERIAL_SESSION | CKF.CKF_RW_SESSION), IntPtr.Zero, IntPtr.Zero, ref _session));
        var pin = Encoding.UTF8.GetBytes(token.Pin);
        var login = _module.C_Login(_session, CKU.CKU_USER, pin, (ulong)pin.Length);
        if (login != CKR.CKR_USER_ALREADY_LOGGED_IN)
        {
            Check(login);
        }
    }

    /// <summary>C_GetAttributeValue(CKA_VALUE) of the private key with this CKA_ID: the return value.</summary>
    public CKR ReadValue(byte[] objectId)
    {
        LowLevel.CK_ATTRIBUTE[] template = [LowLevel.CkaUtils.CreateAttribute(CKA.CKA_VALUE)];
        return _module.C_GetAttributeValue(_session, PrivateKey(objectId), template, 1);
    }

    /// <summary>C_WrapKey of the private key under a fresh AES session key: the return value.</summary>
    public CKR Wrap(byte[] objectId)
    {
        var generate = LowLevel.CkmUtils.CreateMechanism(CKM.CKM_AES_KEY_GEN);
        LowLevel.CK_ATTRIBUTE[] template =
        [
            LowLevel.CkaUtils.CreateAttribute(CKA.CKA_VALUE_LEN, 32UL),
            LowLevel.CkaUtils.CreateAttribute(CKA.CKA_WRAP, true),
            LowLevel.CkaUtils.CreateAttribute(CKA.CKA_TOKEN, false),
        ];
        ulong wrappingKey = 0;
        Check(_module.C_GenerateKey(_session, ref generate, template, (ulong)template.Length, ref wrappingKey));
        var wrap = LowLevel.CkmUtils.CreateMechanism(CKM.CKM_AES_KEY_WRAP_PAD);
        ulong length = 0;
        return _module.C_WrapKey(_session, ref wrap, wrappingKey, PrivateKey(objectId), null!, ref length);
    }

    public void Dispose()
    {
        _module.C_CloseSession(_session);
        _module.Dispose();
    }

    private ulong PrivateKey(byte[] objectId)
    {
        LowLevel.CK_ATTRIBUTE[] template =
        [
            LowLevel.CkaUtils.CreateAttribute(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY),
            LowLevel.CkaUtils.CreateAttribute(CKA.CKA_ID, objectId),
        ];
        Check(_module.C_FindObjectsInit(_session, template, (ulong)template.Length));
        var found = new ulong[1];
        ulong count = 0;
        Check(_module.C_FindObjects(_session, found, 1, ref count));
        Check(_module.C_FindObjectsFinal(_session));
        return count == 1 ? found[0] : throw new InvalidOperationException("private key not found in the token");
    }

    private static void Check(CKR rv)
    {
        if (rv != CKR.CKR_OK)
        {
            throw new Pkcs11Exception("probe", rv);
        }
    }
}
