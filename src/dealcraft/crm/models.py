"""Accounts and contacts: the organisations we sell to and the people in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Account(models.Model):
    """A buying organisation (a company), scored against the ideal customer profile."""

    name = models.CharField(max_length=255)
    domain = models.CharField(max_length=255, blank=True, default="")
    industry = models.CharField(max_length=100, blank=True, default="")
    employees = models.PositiveIntegerField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="accounts")
    external_source = models.CharField(max_length=30, blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"])]
        constraints = [
            models.UniqueConstraint(fields=["external_source", "external_id"],
                                    condition=~models.Q(external_id=""),
                                    name="account_external_id_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person at an account who may play a role on deals."""

    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="contacts")
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    title = models.CharField(max_length=150, blank=True, default="")
    external_source = models.CharField(max_length=30, blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["external_source", "external_id"],
                                    condition=~models.Q(external_id=""),
                                    name="contact_external_id_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email
