using System.Diagnostics;
using Cluster.Client.Messaging;
using Cluster.LoadTest.Accounting;
using Cluster.LoadTest.Latency;

namespace Cluster.LoadTest.Tests;

public sealed class AccountantTests
{
    private const long RunTag = 0x5eed;
    private const int Size = 64;

    private static readonly DeviceKey Bob1 = new(1, 1, 101);
    private static readonly DeviceKey Bob2 = new(1, 2, 102);
    private static readonly DeviceKey Alice2 = new(0, 2, 202);

    private readonly Accountant accountant = new(RunTag, Size, new LatencyRecorder());

    public AccountantTests()
    {
        accountant.Known(Bob1);
        accountant.Known(Bob2);
        accountant.Known(Alice2);
    }

    [Fact]
    public void Tally_OneOfTwoPromisedCopiesNeverArrives_ReportsItLost()
    {
        var message = Begin(1);
        accountant.Acknowledged(message, [Bob1, Bob2], CopyKind.Direct);
        Deliver(message, Bob1);

        var tally = accountant.Tally();

        Assert.Equal(2, tally.Acknowledged);
        Assert.Equal(1, tally.Delivered);
        Assert.Equal(1, tally.Lost);
        Assert.Equal(1, accountant.Outstanding);
        Assert.Contains("device 2", Assert.Single(tally.LostSamples), StringComparison.Ordinal);
    }

    [Fact]
    public void Tally_CopyForADeviceTheRunNeverMade_IsSetApartNotLost()
    {
        var message = Begin(1);
        accountant.Acknowledged(message, [Bob1, new DeviceKey(1, 3, 303)], CopyKind.Direct);
        Deliver(message, Bob1);

        var tally = accountant.Tally();

        Assert.Equal(0, tally.Lost);
        Assert.Equal(1, tally.ToUnknownDevices);
    }

    [Fact]
    public void Tally_EveryCopyArrives_CountsDirectAndSyncCopiesAndNoLoss()
    {
        var message = Begin(1);
        accountant.Acknowledged(message, [Bob1, Bob2], CopyKind.Direct);
        accountant.Acknowledged(message, [Alice2], CopyKind.Sync);
        Deliver(message, Bob1);
        Deliver(message, Bob2);
        Deliver(message, Alice2);

        var tally = accountant.Tally();

        Assert.Equal(3, tally.Delivered);
        Assert.Equal(2, tally.DeliveredDirect);
        Assert.Equal(1, tally.DeliveredSync);
        Assert.Equal(1, tally.AcknowledgedSync);
        Assert.Equal(0, tally.Lost);
        Assert.Equal(0, accountant.Outstanding);
    }

    [Fact]
    public void Delivered_AnotherEnvelopeForACopyThatArrived_CountsADuplicate()
    {
        var message = Begin(1);
        accountant.Acknowledged(message, [Bob1], CopyKind.Direct);
        Deliver(message, Bob1);
        Deliver(message, Bob1);

        var tally = accountant.Tally();

        Assert.Equal(1, tally.Delivered);
        Assert.Equal(1, tally.Duplicated);
        Assert.Equal(0, tally.Redelivered);
    }

    [Fact]
    public void Delivered_TheSameEnvelopeAgain_CountsARedeliveryNotADuplicate()
    {
        var message = Begin(1);
        accountant.Acknowledged(message, [Bob1], CopyKind.Direct);
        var envelope = Envelope(message, Bob1);
        accountant.Delivered(Bob1, envelope, Stopwatch.GetTimestamp());
        accountant.Delivered(Bob1, envelope, Stopwatch.GetTimestamp());

        var tally = accountant.Tally();

        Assert.Equal(0, tally.Duplicated);
        Assert.Equal(1, tally.Redelivered);
    }

    [Fact]
    public void Delivered_BeforeTheSendsAnswer_CountsOnceTheAnswerPromisesIt()
    {
        var message = Begin(1);
        Deliver(message, Bob1);
        Assert.Equal(1, accountant.Tally().DeliveredWithoutAcknowledgement);

        accountant.Acknowledged(message, [Bob1], CopyKind.Direct);
        var tally = accountant.Tally();

        Assert.Equal(1, tally.Delivered);
        Assert.Equal(0, tally.DeliveredWithoutAcknowledgement);
        Assert.Equal(0, tally.Lost);
        Assert.Equal(0, accountant.Outstanding);
    }

    [Fact]
    public void DeviceRemoved_CopyPromisedToItNotArrived_IsVoidedNotLost()
    {
        var early = Begin(1);
        accountant.Acknowledged(early, [Bob1, Bob2], CopyKind.Direct);
        Deliver(early, Bob1);

        accountant.DeviceRemoved(Bob2);
        var late = Begin(2);
        accountant.Acknowledged(late, [Bob1, Bob2], CopyKind.Direct);
        Deliver(late, Bob1);

        var tally = accountant.Tally();
        Assert.Equal(2, tally.Voided);
        Assert.Equal(0, tally.Lost);
        Assert.Equal(0, accountant.Outstanding);
    }

    [Fact]
    public void Delivered_ContentOfAnotherRunOrTampered_CountsUnexpectedAndCorrupted()
    {
        var message = Begin(1);
        accountant.Acknowledged(message, [Bob1], CopyKind.Direct);
        var foreign = MessagePayload.Create(1, RunTag + 1, Size);
        var tampered = MessagePayload.Create(1, RunTag, Size);
        tampered[^1] ^= 0xff;

        accountant.Delivered(Bob1, new Envelope(Guid.NewGuid(), 1, "+15550000000", 1, 1, 0, 0, foreign, true), Stopwatch.GetTimestamp());
        accountant.Delivered(Bob1, new Envelope(Guid.NewGuid(), 1, "+15550000000", 1, 1, 0, 0, tampered, true), Stopwatch.GetTimestamp());

        var tally = accountant.Tally();
        Assert.Equal(1, tally.Unexpected);
        Assert.Equal(1, tally.Corrupted);
        Assert.Equal(1, tally.Delivered);
    }

    [Fact]
    public async Task WaitDrained_LastCopyArrivesWhileWaiting_Completes()
    {
        var message = Begin(1);
        accountant.Acknowledged(message, [Bob1], CopyKind.Direct);

        var waiting = accountant.WaitDrainedAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.False(waiting.IsCompleted);
        Deliver(message, Bob1);

        Assert.True(await waiting);
    }

    [Fact]
    public async Task WaitDrained_ACopyNeverArrives_ReturnsFalseAfterTheTimeout()
    {
        var message = Begin(1);
        accountant.Acknowledged(message, [Bob1], CopyKind.Direct);

        Assert.False(await accountant.WaitDrainedAsync(TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken));
    }

    private TrackedMessage Begin(long id) => accountant.Begin(id, Stopwatch.GetTimestamp(), measured: true, "+15550000000", 1);

    private void Deliver(TrackedMessage message, DeviceKey at) => accountant.Delivered(at, Envelope(message, at), Stopwatch.GetTimestamp());

    private static Envelope Envelope(TrackedMessage message, DeviceKey at) =>
        new(Guid.NewGuid(), 1, message.SenderAccount, message.SenderDevice, at.DeviceId, 0, 0, MessagePayload.Create(message.Id, RunTag, Size), true);
}
