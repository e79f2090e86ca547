#!/usr/bin/perl
# SPDX-License-Identifier: GPL-3.0-or-later
# Write a subscriber MMDB (policy/mmdb.c) from a text description, with Debian's
# libmaxmind-db-writer-perl. Used by tests/unit/policy/test_mmdb.c and bench/mmdb_bench.c.
#
# Usage: make_mmdb.pl [options] INPUT OUTPUT.mmdb      (INPUT "-" reads stdin)
#
# INPUT, one range a line ('#' starts a comment, blank lines are skipped):
#   CIDR GROUP NETWORK_ID [PROVINCE]
#   10.0.0.0/8      khach  ISP-GUEST
#   10.1.0.0/16     thcs   79-THCS-0001  79
#   2001:db8::/32   -      ISP-V6        79
# "-" leaves a field out of the record (to test records that lack one).
# Longest prefix wins whatever the line order: ranges are inserted shortest prefix first, so a
# more specific range carves its hole out of the broader one (the file stores the flattened tree).
#
# Options:
#   --ip-version 4|6     search tree (default 6; IPv4 ranges live under ::/96 in an IPv6 tree)
#   --record-size N      24, 28 or 32 (default 28)
#   --group-field NAME   key for GROUP (default group)
#   --id-field NAME      key for NETWORK_ID (default network_id)
#   --province-field NAME key for PROVINCE (default province)
#   --numeric-id         store NETWORK_ID as an unsigned 32-bit integer instead of a string
#   --extra KEY=VALUE    add a constant string field to every record (repeatable)
#   --double KEY=VALUE   add a constant double field to every record (repeatable; wrong-type tests)
#
# Exit status: 0 written, 1 bad input or write failure, 2 usage.
use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use MaxMind::DB::Writer::Tree;

my %opt = (
	'ip-version' => 6,
	'record-size' => 28,
	'group-field' => 'group',
	'id-field' => 'network_id',
	'province-field' => 'province',
	'numeric-id' => 0,
	'extra' => [],
	'double' => [],
);
GetOptions(\%opt, 'ip-version=i', 'record-size=i', 'group-field=s', 'id-field=s',
	'province-field=s', 'numeric-id', 'extra=s@', 'double=s@')
	or usage();
usage() unless @ARGV == 2;
my ($input, $output) = @ARGV;
die "make_mmdb.pl: --ip-version must be 4 or 6\n" unless $opt{'ip-version'} =~ /^[46]$/;

my (%extra, %types);
for my $t ([ 'extra', 'utf8_string' ], [ 'double', 'double' ]) {
	my ($option, $type) = @$t;
	for my $kv (@{ $opt{$option} }) {
		my ($k, $v) = split /=/, $kv, 2;
		die "make_mmdb.pl: --$option wants KEY=VALUE, got '$kv'\n" unless defined $v && length $k;
		$extra{$k} = $type eq 'double' ? $v + 0.0 : $v;
		$types{$k} = $type;
	}
}

$types{$_} = 'utf8_string' for ($opt{'group-field'}, $opt{'province-field'});
$types{ $opt{'id-field'} } = $opt{'numeric-id'} ? 'uint32' : 'utf8_string';

my $in;
if ($input eq '-') {
	$in = \*STDIN;
} else {
	open($in, '<', $input) or die "make_mmdb.pl: '$input': $!\n";
}
my @ranges;
while (my $line = <$in>) {
	$line =~ s/#.*//;
	next if $line =~ /^\s*$/;
	my @f = split ' ', $line;
	die "make_mmdb.pl: $input:$.: want CIDR GROUP NETWORK_ID [PROVINCE]\n" if @f < 3 || @f > 4;
	my ($cidr, $group, $id, $province) = @f;
	die "make_mmdb.pl: $input:$.: '$cidr' is not a CIDR\n" unless $cidr =~ m{^([0-9a-fA-F:.]+)/(\d+)$};
	my $len = $2;
	my $v6 = $cidr =~ /:/;
	die "make_mmdb.pl: $input:$.: '$cidr': prefix length out of range\n" if $len > ($v6 ? 128 : 32);
	die "make_mmdb.pl: $input:$.: '$cidr': IPv6 range in an IPv4 database\n"
		if $v6 && $opt{'ip-version'} == 4;
	my %rec = %extra;
	$rec{ $opt{'group-field'} } = $group if $group ne '-';
	$rec{ $opt{'id-field'} } = $opt{'numeric-id'} ? $id + 0 : $id if $id ne '-';
	$rec{ $opt{'province-field'} } = $province if defined $province && $province ne '-';
	# IPv4 ranges in an IPv6 tree sit 96 bits deeper: compare prefix lengths on that scale.
	push @ranges, [ ($v6 || $opt{'ip-version'} == 4) ? $len : $len + 96, $., $cidr, \%rec ];
}
close($in) unless $input eq '-';

my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version => $opt{'ip-version'},
	record_size => $opt{'record-size'},
	database_type => 'lanhmanh-subscribers',
	languages => ['en'],
	description => { en => 'lanhmanh subscriber networks (test data)' },
	map_key_type_callback => sub { $types{ $_[0] } // 'utf8_string' },
	# Test data uses private ranges (10/8, fd00::/8, 2001:db8::/32): keep them.
	remove_reserved_networks => 0,
	merge_strategy => 'none',
);
# Shortest prefix first, then input order: with merge_strategy "none" the last insert wins, so
# every more specific range overrides the broader one it sits in.
for my $r (sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] } @ranges) {
	$tree->insert_network($r->[2], $r->[3]);
}

my $tmp = "$output.tmp.$$";
open(my $out, '>:raw', $tmp) or die "make_mmdb.pl: '$tmp': $!\n";
$tree->write_tree($out);
close($out) or die "make_mmdb.pl: '$tmp': $!\n";
rename($tmp, $output) or die "make_mmdb.pl: '$output': $!\n";
exit 0;

sub usage {
	print STDERR "usage: make_mmdb.pl [--ip-version 4|6] [--record-size N] [--group-field F]"
		. " [--id-field F] [--province-field F] [--numeric-id]"
		. " [--extra K=V] [--double K=V] INPUT OUTPUT.mmdb\n";
	exit 2;
}
